package printable

import "testing"

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"/usr/bin/curl", "/usr/bin/curl"},
		{"/tmp/g en", "/tmp/g en"},
		{"/opt/café/ünï", "/opt/café/ünï"},
		{"a\nb", `"a\nb"`},
		{"\x1b[2Kx", `"\x1b[2Kx"`},
		{"\r", `"\r"`},
		{"tab\there", `"tab\there"`},
		{"bad\xffutf8", `"bad\xffutf8"`},
		{"rtl\u202eexe.txt", `"rtl\u202eexe.txt"`},
		{`"quoted"`, `"\"quoted\""`}, // would read as an escaped string
		{`back\slash`, `"back\\slash"`},
		{`mid"quote`, `mid"quote`},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := Escape("action \"x\\y\" \x1b[31m\xff \ufffd"); got != `action "x\y" \x1b[31m\xff `+"\ufffd" {
		t.Errorf("Escape: %s", got)
	}
}
