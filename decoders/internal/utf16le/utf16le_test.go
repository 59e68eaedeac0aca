package utf16le

import (
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func units(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{units("WORKGROUP"), "WORKGROUP"},
		{units("Администратор"), "Администратор"},
		{units("x😀y"), "x😀y"},                   // a surrogate pair
		{[]byte{0x3d, 0xd8, 'a', 0}, "\ufffda"}, // high surrogate, then no low one
		{[]byte{0x00, 0xdc, 'b', 0}, "\ufffdb"}, // a lone low surrogate
		{append(units("ab"), 'c'), "ab"},        // odd trailing byte
		{nil, ""},
	} {
		got := String(tc.in)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("String(% x) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUntilNUL(t *testing.T) {
	b := append(units("alice"), 0, 0, 'x', 0)
	if got := string(UntilNUL(b)); got != string(units("alice")) {
		t.Errorf("UntilNUL = % x", got)
	}
	// a zero byte at an odd offset is part of a code unit, not a NUL
	if got := UntilNUL([]byte{'a', 0, 0, 1}); len(got) != 4 {
		t.Errorf("UntilNUL cut at an odd offset: % x", got)
	}
}

func FuzzString(f *testing.F) {
	f.Add(units("Администратор😀"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s := String(b); !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 from % x", b)
		}
	})
}
