package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify: whatever headers and body a sender makes up, verification neither panics nor
// accepts a request unless it carries the signature computed with the secret.
func FuzzVerify(f *testing.F) {
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "t=1614265330,v1=00", []byte(`{"test": 2432232314}`))
	f.Add("", "", "", "", []byte(nil))
	f.Add("x", "99999999999999", "v1, v1,,, v2,abc", "t=,v1=,v1=zz,=,,", []byte("mandrill_events=%5B%5D&a=1"))
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	std, _ := New(Config{Scheme: StandardWebhooks}, []string{secret})
	stripe, _ := New(Config{Scheme: Stripe}, []string{secret})
	mandrill, _ := New(Config{Scheme: Mandrill}, []string{secret})
	mailgun, _ := New(Config{Scheme: Mailgun}, []string{secret})
	at := time.Unix(1614265330, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig, stripeSig string, body []byte) {
		h := http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sig},
			"Stripe-Signature": {stripeSig}, "X-Mandrill-Signature": {sig}, "Content-Type": {"application/json"}}
		r := Request{Header: h, Body: body, URL: "https://hooks.example.com/v1/clients/1/token/x"}
		if std.Verify(r, at) == nil {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(id + "." + ts + "."))
			m.Write(body)
			if !strings.Contains(sig, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil))) {
				t.Fatalf("Standard Webhooks accepted %q without the signature", sig)
			}
		}
		if stripe.Verify(r, at) == nil {
			var tsv string
			for _, item := range strings.Split(stripeSig, ",") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(item), "t="); ok {
					tsv = v
				}
			}
			m := hmac.New(sha256.New, []byte(secret))
			m.Write([]byte(tsv + "."))
			m.Write(body)
			if _, err := strconv.ParseInt(tsv, 10, 64); err != nil || !strings.Contains(strings.ToLower(stripeSig), hex.EncodeToString(m.Sum(nil))) {
				t.Fatalf("Stripe accepted %q without the signature", stripeSig)
			}
		}
		mandrill.Verify(r, at) // must not panic; a forged HMAC-SHA1 is beyond a fuzzer
		mailgun.Verify(r, at)
		std.DeliveryID(h, nil)
	})
}
