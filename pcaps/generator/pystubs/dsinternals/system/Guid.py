"""Stub: only imported by ntlmrelayx LDAP shadow-credentials attack, never used here."""

class Guid:
    pass
