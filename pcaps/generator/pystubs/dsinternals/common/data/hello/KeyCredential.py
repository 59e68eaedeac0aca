class KeyCredential:
    pass
