class DateTime:
    pass
