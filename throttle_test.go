package widgetapi

import (
	"net/netip"
	"testing"
)

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":                     "192.0.2.1",
		"::ffff:192.0.2.1":              "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":          "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:ffff:1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":               "2001:db8:1:3::/64",
		"fe80::1%eth0":                  "fe80::/64",
		"":                              "",
		"not an address":                "not an address",
	} {
		if got := AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every address of one /64 is one key, and a million of them are still
// one: rotating addresses inside a /64 gains nothing.
func TestAddressKeyFoldsAMillionAddressesOfOne64(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1_000_000 {
		a := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 1, 2, 3, 4}
		seen[AddressKey(netip.AddrFrom16(a).String())] = true
	}
	if len(seen) != 1 {
		t.Fatalf("%d keys", len(seen))
	}
}
