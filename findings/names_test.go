package findings

import "testing"

func TestHostShapes(t *testing.T) {
	for _, tc := range []struct{ fn, in, want string }{
		{"spn", "cifs/fs1.lab.test", "fs1.lab.test"},
		{"spn", "MSSQLSvc/sql.lab.test:1433", "sql.lab.test"},
		{"spn", "HTTP/[fe80::1]:8080", "fe80::1"},
		{"spn", "ldap/dc1.lab.test/lab.test@LAB.TEST", "dc1.lab.test"},
		{"spn", "krbtgt", ""},
		{"unc", `\\10.1.2.3\share`, "10.1.2.3"},
		{"unc", `\\FS1\IPC$`, "FS1"},
		{"port", "web.lab.test:8081", "web.lab.test"},
		{"port", "::1", "::1"},
	} {
		var got string
		switch tc.fn {
		case "spn":
			got = SPNHost(tc.in)
		case "unc":
			got = UNCHost(tc.in)
		case "port":
			got = StripPort(tc.in)
		}
		if got != tc.want {
			t.Errorf("%s(%q) = %q, want %q", tc.fn, tc.in, got, tc.want)
		}
	}
	for h, want := range map[string]bool{"127.0.0.10": true, "[::1]:445": true, "10.0.0.1:80": true, "fs1": false, "": false, "dc1.lab.test:389": false} {
		if IsIPLiteral(h) != want {
			t.Errorf("IsIPLiteral(%q) = %v", h, !want)
		}
	}
}
