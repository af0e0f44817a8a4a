"""dt's model zoo: pretrained weights (safetensors) with cards; see dtcli.zoo."""
