package findings

// The words findings are made of. Each is written into the output as is
// (docs/CONTRACT.md), so each value is defined here once and matched by
// name everywhere else.

// Mechanism is auth.mechanism.
type Mechanism string

const (
	MechNTLM          Mechanism = "ntlm"
	MechKerberos      Mechanism = "kerberos"
	MechSimple        Mechanism = "simple"         // LDAP simple bind: a cleartext password
	MechSMB1Challenge Mechanism = "smb1-challenge" // pre-NTLMSSP SMB1 logon [MS-CIFS 2.2.4.53]
)

// IsNTLM reports whether the mechanism is NTLM in either form: the logons
// the NTLM audit is about.
func (m Mechanism) IsNTLM() bool { return m == MechNTLM || m == MechSMB1Challenge }

// Protocol is network.protocol: the carrier the authentication came in.
type Protocol string

const (
	ProtoSMB      Protocol = "smb"
	ProtoHTTP     Protocol = "http"
	ProtoLDAP     Protocol = "ldap"
	ProtoSMTP     Protocol = "smtp"
	ProtoIMAP     Protocol = "imap"
	ProtoPOP3     Protocol = "pop3"
	ProtoDCERPC   Protocol = "dcerpc"
	ProtoMSSQL    Protocol = "mssql"
	ProtoKerberos Protocol = "kerberos"
	ProtoNNS      Protocol = "nns"     // .NET NegotiateStream [MS-NNS]: AD Web Services, WCF net.tcp
	ProtoUnknown  Protocol = "unknown" // found by the signature scan
)

// NTLMVersion is ntlm.version, from the shape of the responses [MS-NLMP 3.3].
type NTLMVersion string

const (
	NTLMv2        NTLMVersion = "NTLMv2"
	NTLMv1ESS     NTLMVersion = "NTLMv1-ESS"
	NTLMv1        NTLMVersion = "NTLMv1"
	NTLMLM        NTLMVersion = "LM"
	NTLMAnonymous NTLMVersion = "anonymous"
)

// KerberosRequest is kerberos.request.
type KerberosRequest string

const (
	KerberosAS  KerberosRequest = "AS"
	KerberosTGS KerberosRequest = "TGS"
	KerberosAP  KerberosRequest = "AP"
)

// Kerberos error names (kerberos.error) the flags and the audit match on
// [RFC 4120 7.5.9].
const (
	KrbErrCPrincipalUnknown = "KDC_ERR_C_PRINCIPAL_UNKNOWN" // 6
	KrbErrSPrincipalUnknown = "KDC_ERR_S_PRINCIPAL_UNKNOWN" // 7
	KrbErrPreauthFailed     = "KDC_ERR_PREAUTH_FAILED"      // 24
	KrbErrPreauthRequired   = "KDC_ERR_PREAUTH_REQUIRED"    // 25
	KrbErrSkew              = "KRB_AP_ERR_SKEW"             // 37
	KrbErrModified          = "KRB_AP_ERR_MODIFIED"         // 41
	KrbErrResponseTooBig    = "KRB_ERR_RESPONSE_TOO_BIG"    // 52
)

// Kerberos encryption types the flags judge [RFC 3961 8, RFC 4757, RFC 8429].
const (
	EtypeDESCBCCRC  int32 = 1
	EtypeDESCBCMD4  int32 = 2
	EtypeDESCBCMD5  int32 = 3
	EtypeRC4HMAC    int32 = 23
	EtypeRC4HMACExp int32 = 24
	EtypeAES128SHA1 int32 = 17
	EtypeAES256SHA1 int32 = 18
)

// IsRC4 reports whether an etype is RC4-HMAC, plain or export.
func IsRC4(e int32) bool { return e == EtypeRC4HMAC || e == EtypeRC4HMACExp }
