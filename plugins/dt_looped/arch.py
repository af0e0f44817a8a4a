ARCHITECTURES: tuple = ()  # filled in by the architecture module
