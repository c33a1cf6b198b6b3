// Package keystest gives tests RSA signing keys without generating them:
// a 2048-bit key costs tens of milliseconds (often more on shared cores),
// and every test that opens a fresh store would pay it.
package keystest

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/latchkey/latchkey/internal/keys"
)

// Two fixed test keys, so that a rotation in a test has a new key to
// publish. Never use them outside tests.
var pems = [...]string{
	`
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDsTxNDCUtPH6gw
eSSRTP4YbRDV82M9l5ZuvAFHtjCljUJIl8ws4S1lfu8uPJnomxwfQEgSKmJEGM8W
RgOEd1auhE5J6uEIK7pnLXIYQmIFamNvE/K0UMIWGRE/Nab9MPUYtufg35wUOdub
1GqVeLJcxucOrT0XngEVJ3xQuattdYtAUSyX+kxyLNxaQ5/725SuaLb5/+h9w/sL
run0rBSHsOzUEbEQgSjoV5Jcpri4hb6lDyfyjIkF/fIhh5WI6LocJNa3i3ufqOKS
4PZt8hdEGmOW6ccT/d8sIUgc1rDWG62Hlt59KrHQyjXrmuqLSZQXV8Jwf37yQU4j
v17vgNEdAgMBAAECggEAH+g5cJbDrWZX3lutHVVpBcFMQadAYiOis0b9YUJvZRsi
tQySDAlHiOnPv8189pRjArE6SgGhDRLQe3Burycx9BR3QbHOOr00yROw0Se9dn+7
91aZMdGpszQlSQSkjJFctr6TpqBqwaxiQ7M1xQLsCmzs6+VmV1cFTGbteTToubmf
63FOwLAccetHnbctX8ORlDmpB9qFzEmwwyHPIo3ny4Sw8SbMixNrChLdDHJgyU4K
67PTv/QXMrUt6aVGQUtfd39DKE1kqaMXtPTPVRZHPakm0GlCfD7Rr6pv40dlXKPl
lnAYp/U3CBoWuYwf1LQAbixN8Q6YLft1HcCAiQ7HoQKBgQD5X0FAkhUa2p3lPGXV
3H4zNY8z9ha5hww5jFauXQB4R8p/P7YY1ODZrqImM5kMwl4QlQHhIU9qGZIhdidb
lzZ0EVvHwVncC5jxsFxpL0w1/QdAPq9fqKMOEqfN9wckxevOje+JF8KJJpuof5Hw
bty8hlJAtdYm+xZARl2DV/aJiQKBgQDylu/6UIJdl+ngUfIutpUlxFIVeNuu7QMd
2Lil7Y/T3pDtVpI5Fhr39XdOf5H2B/OoV4t0lzXMEwgTeTTG0N8t+e1Yr/6BX/AU
SyRaCrrucUWiw6R2tWgCwguHHdFhTczPBnMkNr8uGCtncptDoG/RZj3yDZ3hbF+W
fohMFXZp9QKBgFvvGx5T/MXerPFTF/QFCt2UNEwiwHP7bq1UqKw1izPMu8G32klD
SfXWpN7SjO0gRw9z77Jw1lc2QCJn7dCdaazWrXByPs+Z0vPfYeJBVqZctyyfL4Zj
pGFOzWBoXtDWyr1mpFV1Vfm8Kwyuoz3xkR1Lo81JfD74uFZP2q/OYQyJAoGBAIG7
horvE0jKPSDhsgqZShnwa5VgFNvvlIMZq2XRLeG4XPkQGxK8Z5/DfhJU1tIkXoHg
j4vCcdq5MtB3OWo5uaD0z6FmPU0i6Vlw9ffRVTa/DOaGiiWRzhXrgA66O4c1/Bma
8WikfolAE7Y27CG2YxYw/1+7OHudYWEyOeG2eKUhAoGBAIykn4iKvT+QRuhi913D
P4iFPvSdmZSSW6FHZuQy8N3MzVO1/p1PZqpCC5RIKyOgkDjCYkPBr6MzaXXW9mhu
eS/ZwgoaGpsVVDIdOMKlgGOuQ0DE5YJ2U/9xsYjkMrGShuN/ZVdG18XhoeZItkeI
Owt8Q8xI/2iZmylo53GuNHQI
-----END PRIVATE KEY-----
`, `
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCrEUqILYSgH7/F
FZTMGvrcK1+rganauhVltP5+QZ10/tcITPrgHa7aik05M9quUgr8Alu4jeWGL7j9
o6tZiZdXsJykKF3AtpAjqP2iZIKvLQoHFotsf4PIzp9uKxMIsVB6U8OS+WNklQef
GID8Itbw6Lm6kP9tcHjAey5v1OfddFalWhttGlB6TqeAt8C4jitAAeHiZvWiz/dX
cuB9bG6JfOF+ab2r1LFCBCBmvBgfUdNCO4x8VpQ411pyNTiMMGjf/z794utPFNcj
OH7U8aXlZSeFpTg6xJTOzYOczOFjlwPFvDuaiJzCsmY4MOi6+kHqfj5YGHS94Abl
paWuYpR5AgMBAAECggEACY8HySAx/viHMK4KCHWhetf5mo2+PfiT5YD9j3R/JeBv
h4k1o3xFHvUHZ6DcIU14S6ieE2vqXVshTRruIiysBjxaJFoVEwWgfD2fHonbO4qa
utapp8BgTsIs6m0BvUSbKJqxnO7OfPpO2Lb3zh7sP73hUulzPFxCgw7fA2S0KA2W
vDn2j1IzX/bSQpmKh7ywd/cBIZTWDZLqfBDTkb/fhH7+OwG/udRgZOMI5U3tcjYD
aRq1tfsC8Swuq4yyBkDa/gv9wZTjM9OY/qkw+Mww1fSYfburLrdlorLMt9mh020k
t/ft/OVNmRhYeCc6ugTZRZ4pW5u06CBZBkx2GTPcAQKBgQDXgwv1xbDJrLLeN7/g
oUswP6EQw6l+wY6hTD2Sqil79hHK8ijQZmmv1/7uI7Vh179WKlXKccCjOy7QJ/tC
nXo3TJ4MDj+0zek1kcrJ3mqGTWQ8LTw/NgXlYvv44Q3xI7wZAhcW1EKW1bAFs2Fs
KMh1GH/2KywjHOvwzq5o0TVkuQKBgQDLNLZA98CVDX1uTm9WbJpZnCsNMwP00u0p
7wOOPUec2AgMezKdU6wA6AhtYSsmrjvUifpA8cm/e9UDG7Zs2R5odauYDTuyDO3G
mc3sv+tBjvSVnb8slUW4pGmzX7k6joC6B/gOfIBKi/tqsLu2FllG/EG+eXeJtLgq
UU3lFYZNwQKBgQDIopr+22Yjy2DWmsZKxT6vk31Kky338RDtP4JPSZXHbyXPb7Tp
l36rE4alg574kRfziwRFrbMvBAkoByDXOq6uTukQxi8vD0ge9DT7zNIVaHV5xI9D
NfM1Q/rbEAKfzanvClAek8vOivANzptTS4Cb6wwuTLERm3pYvMIImUSBGQKBgCqs
iDW+kdf7fELk/+azafq1nCjqdMM+ZIXw5ttBLT/X8mDEoo19m9qY3+QwisJVxsTM
sRxgapDm7YX4lOfo9MTVKVMGPGoY4vpZJHC6oSokXmLpPNOdCYZMKNJ9oMWWVZw7
vjE0njCJkyQFt3X23YrVwOzCT4NAy4g/iM86JPlBAoGAeBQSE/egvm7bQZqfxpuC
4QR8FG9xdvSfz9BmGEVZeatJcrgA0IKEa+71ZNgWLbyY5l+lUvWUcjcJg8RM5vW+
eiIIz9j8+ilyniX2d3tmwbCXgKposHwhPd+nUCNY40U+Zg6aPuaHQMd8FoELQAs2
topbg5NPrh/06QLFo4sk610=
-----END PRIVATE KEY-----
`,
}

var (
	parseOnce sync.Once
	parsed    []*rsa.PrivateKey
	parseErr  error
	next      atomic.Uint64
)

// RSAGenerator hands out the fixed test keys in turn, in place of
// generating one.
func RSAGenerator() (*rsa.PrivateKey, error) {
	parseOnce.Do(func() {
		for _, p := range pems {
			b, _ := pem.Decode([]byte(p))
			if b == nil {
				parseErr = fmt.Errorf("keystest: bad PEM")
				return
			}
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				parseErr = err
				return
			}
			parsed = append(parsed, k.(*rsa.PrivateKey))
		}
	})
	if parseErr != nil {
		return nil, parseErr
	}
	return parsed[next.Add(1)%uint64(len(parsed))], nil
}

// Option is keys.WithRSAGenerator(RSAGenerator).
func Option() keys.Option { return keys.WithRSAGenerator(RSAGenerator) }
