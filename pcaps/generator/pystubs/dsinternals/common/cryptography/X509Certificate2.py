class X509Certificate2:
    pass
