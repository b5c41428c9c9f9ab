package signature

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The providers' own published examples.
func TestPublishedExamplesVerify(t *testing.T) {
	// The Standard Webhooks specification's example (standard-webhooks/spec, "Verifying").
	std, err := New(Config{Scheme: StandardWebhooks, DeliveryID: DefaultDeliveryID(StandardWebhooks)}, []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	r := Request{Header: h, Body: []byte(`{"test": 2432232314}`)}
	if err := std.Verify(r, time.Unix(1614265330, 0)); err != nil {
		t.Errorf("Standard Webhooks example: %v", err)
	}
	if got := std.DeliveryID(h, nil); got != "msg_p5jXN8AQM9LWM0D4loKWxJek" {
		t.Errorf("Standard Webhooks delivery id %q", got)
	}
	// The same, as Svix names the headers.
	svix := http.Header{}
	svix.Set("svix-id", h.Get("webhook-id"))
	svix.Set("svix-timestamp", h.Get("webhook-timestamp"))
	svix.Set("svix-signature", "v1a,bm90IG91cnM= "+h.Get("webhook-signature"))
	if err := std.Verify(Request{Header: svix, Body: r.Body}, time.Unix(1614265330+299, 0)); err != nil {
		t.Errorf("Svix headers, a v1a entry first, 299 s later: %v", err)
	}

	// GitHub's documentation ("Validating webhook deliveries", testing the signature).
	gh, _ := PresetByName("github")
	github, err := New(gh, []string{"It's a Secret to Everybody"})
	if err != nil {
		t.Fatal(err)
	}
	h = http.Header{}
	h.Set("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	if err := github.Verify(Request{Header: h, Body: []byte("Hello, World!")}, time.Now()); err != nil {
		t.Errorf("GitHub example: %v", err)
	}
	if got := github.DeliveryID(h, nil); got != "72d3162e-cc78-11e3-81ab-4c9367dc0958" {
		t.Errorf("GitHub delivery id %q", got)
	}
}

// SendGrid's example of a Signed Event Webhook (the verification key, timestamp, signature and
// body of SendGrid's libraries' event webhook tests, as Discourse's tests quote them).
func TestSendGridPublishedExampleVerifies(t *testing.T) {
	v, err := New(Config{Scheme: SendGrid}, []string{"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="})
	if err != nil {
		t.Fatal(err)
	}
	body := "[{\"email\":\"hello@world.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\",\"sg_event_id\":\"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA\",\"sg_message_id\":\"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0\",\"smtp-id\":\"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>\",\"timestamp\":1600112492}]\r\n"
	h := hdr("X-Twilio-Email-Event-Webhook-Signature", "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=",
		"X-Twilio-Email-Event-Webhook-Timestamp", "1600112502")
	at := time.Unix(1600112502, 0)
	if err := v.Verify(Request{Header: h, Body: []byte(body)}, at); err != nil {
		t.Fatalf("SendGrid's example: %v", err)
	}
	if err := v.Verify(Request{Header: h, Body: []byte(strings.Replace(body, "dropped", "Dropped", 1))}, at); err == nil {
		t.Fatal("SendGrid's example with the body changed verifies")
	}
}

// signers build a valid request for each scheme, signed with secret at ts.
type signed struct {
	scheme  Config
	secrets [2]string // the first and a rotated one
	sign    func(secret string, ts int64, body []byte) Request
	body    string
}

func hmacHex(h func() hash.Hash, key string, parts ...string) string {
	m := hmac.New(h, []byte(key))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func schemes(t *testing.T) map[string]signed {
	stdSecret := func() string {
		b := make([]byte, 24)
		rand.Read(b)
		return "whsec_" + base64.StdEncoding.EncodeToString(b)
	}
	priv1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	priv2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := func(k *ecdsa.PrivateKey) string {
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		return base64.StdEncoding.EncodeToString(der)
	}
	privOf := map[string]*ecdsa.PrivateKey{pub(priv1): priv1, pub(priv2): priv2}
	mandrillURL := "https://hooks.example.com/v1/clients/1/token/abc"
	return map[string]signed{
		"standard-webhooks": {Config{Scheme: StandardWebhooks}, [2]string{stdSecret(), stdSecret()}, func(s string, ts int64, body []byte) Request {
			key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
			m := hmac.New(sha256.New, key)
			fmt.Fprintf(m, "msg_1.%d.%s", ts, body)
			return Request{Header: hdr("webhook-id", "msg_1", "webhook-timestamp", strconv.FormatInt(ts, 10),
				"webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil))), Body: body}
		}, `{"type":"invoice.paid"}`},
		"hmac-github": {mustPreset("github"), [2]string{"first secret", "second secret"}, func(s string, _ int64, body []byte) Request {
			return Request{Header: hdr("X-Hub-Signature-256", "sha256="+hmacHex(sha256.New, s, string(body))), Body: body}
		}, `{"action":"opened"}`},
		"hmac-shopify": {mustPreset("shopify"), [2]string{"shpss_1", "shpss_2"}, func(s string, _ int64, body []byte) Request {
			m := hmac.New(sha256.New, []byte(s))
			m.Write(body)
			return Request{Header: hdr("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(m.Sum(nil))), Body: body}
		}, `{"id":820982911946154508}`},
		"hmac-sha512-base64": {Config{Scheme: HMAC, Header: "X-Sig", Hash: "sha512", Encoding: "base64", Prefix: "v="}, [2]string{"k1", "k2"}, func(s string, _ int64, body []byte) Request {
			m := hmac.New(sha512.New, []byte(s))
			m.Write(body)
			return Request{Header: hdr("X-Sig", "v="+base64.StdEncoding.EncodeToString(m.Sum(nil))), Body: body}
		}, `{"a":1}`},
		"segment": {mustPreset("segment"), [2]string{"seg1", "seg2"}, func(s string, _ int64, body []byte) Request {
			return Request{Header: hdr("X-Signature", hmacHex(sha1.New, s, string(body))), Body: body}
		}, `{"type":"track","messageId":"m-1"}`},
		"mandrill": {Config{Scheme: Mandrill}, [2]string{"mandrill-key-1", "mandrill-key-2"}, func(s string, _ int64, body []byte) Request {
			form, _ := url.ParseQuery(string(body))
			m := hmac.New(sha1.New, []byte(s))
			m.Write([]byte(mandrillURL + "a" + form.Get("a") + "mandrill_events" + form.Get("mandrill_events")))
			return Request{Header: hdr("X-Mandrill-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil))), Body: body, URL: mandrillURL}
		}, "mandrill_events=%5B%7B%22event%22%3A%22send%22%7D%5D&a=1"},
		"sendgrid": {Config{Scheme: SendGrid}, [2]string{pub(priv1), pub(priv2)}, func(s string, ts int64, body []byte) Request {
			d := sha256.Sum256(append([]byte(strconv.FormatInt(ts, 10)), body...))
			priv := privOf[s]
			if priv == nil { // a key SendGrid did not give us
				priv, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			}
			sig, _ := ecdsa.SignASN1(rand.Reader, priv, d[:])
			return Request{Header: hdr("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig),
				"X-Twilio-Email-Event-Webhook-Timestamp", strconv.FormatInt(ts, 10)), Body: body}
		}, `[{"email":"a@example.com","event":"processed"}]`},
		"mailgun": {Config{Scheme: Mailgun}, [2]string{"mg-key-1", "mg-key-2"}, func(s string, ts int64, body []byte) Request {
			var ev map[string]any
			json.Unmarshal(body, &ev)
			ev["signature"] = map[string]any{"timestamp": strconv.FormatInt(ts, 10), "token": "tok123",
				"signature": hmacHex(sha256.New, s, strconv.FormatInt(ts, 10), "tok123")}
			b, _ := json.Marshal(ev)
			return Request{Header: hdr("Content-Type", "application/json"), Body: b}
		}, `{"event-data":{"id":"ev-1","event":"delivered"}}`},
		"customerio": {Config{Scheme: CustomerIO}, [2]string{"cio1", "cio2"}, func(s string, ts int64, body []byte) Request {
			t := strconv.FormatInt(ts, 10)
			return Request{Header: hdr("X-CIO-Timestamp", t, "X-CIO-Signature", hmacHex(sha256.New, s, "v0:"+t+":", string(body))), Body: body}
		}, `{"event_id":"01E4C4CT6YDC7Y5M7FE1GWWPQJ","metric":"sent"}`},
		"stripe": {Config{Scheme: Stripe}, [2]string{"whsec_test_secret_1", "whsec_test_secret_2"}, func(s string, ts int64, body []byte) Request {
			t := strconv.FormatInt(ts, 10)
			return Request{Header: hdr("Stripe-Signature", "t="+t+",v1="+hmacHex(sha256.New, s, t+".", string(body))+",v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"), Body: body}
		}, `{"id":"evt_1","object":"event"}`},
		"basic": {Config{Scheme: Basic}, [2]string{"postmark:pa55word", "postmark:n3w-pa55word"}, func(s string, _ int64, body []byte) Request {
			return Request{Header: hdr("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s))), Body: body}
		}, `{"RecordType":"Delivery"}`},
	}
}

func mustPreset(name string) Config {
	c, ok := PresetByName(name)
	if !ok {
		panic(name)
	}
	return c
}

// Every scheme, signed in the test, and every way of failing.
func TestEverySchemeAcceptsItsSignatureAndRefusesTheRest(t *testing.T) {
	now := time.Unix(1_790_000_000, 0)
	for name, s := range schemes(t) {
		t.Run(name, func(t *testing.T) {
			first, second := s.secrets[0], s.secrets[1]
			body := []byte(s.body)
			one, err := New(s.scheme, []string{first})
			if err != nil {
				t.Fatal(err)
			}
			both, err := New(s.scheme, []string{first, second})
			if err != nil {
				t.Fatal(err)
			}
			onlyNew, _ := New(s.scheme, []string{second})
			expectOK := func(what string, v *Verifier, r Request, at time.Time) {
				t.Helper()
				if err := v.Verify(r, at); err != nil {
					t.Errorf("%s: refused: %v", what, err)
				}
			}
			expectRefused := func(what string, v *Verifier, r Request, at time.Time, reason string) {
				t.Helper()
				err := v.Verify(r, at)
				e, ok := err.(*Error)
				if !ok || !strings.Contains(e.Reason, reason) {
					t.Errorf("%s: %v, want a refusal saying %q", what, err, reason)
				}
				for _, sec := range s.secrets {
					if err != nil && strings.Contains(err.Error(), sec) {
						t.Errorf("%s: the reason holds the secret", what)
					}
				}
			}
			good := s.sign(first, now.Unix(), body)
			expectOK("signed", one, good, now)
			expectOK("signed, two secrets active", both, good, now)
			expectOK("signed with the rotated secret", both, s.sign(second, now.Unix(), body), now)
			expectRefused("old secret after the rotation", onlyNew, good, now, "not match")
			expectRefused("wrong secret", one, s.sign("whsec_"+base64.StdEncoding.EncodeToString([]byte("an entirely wrong key")), now.Unix(), body), now, "not match")

			changed := append([]byte(nil), good.Body...)
			changed[len(changed)-2] ^= 1                                // one byte of the body
			if s.scheme.Scheme != Mailgun && s.scheme.Scheme != Basic { // neither signs the event (see checkMailgun)
				expectRefused("body changed by a byte", one, Request{Header: good.Header, Body: changed, URL: good.URL}, now, "")
			}
			for key := range good.Header {
				if key == "Content-Type" || key == "X-Github-Delivery" {
					continue
				}
				h := good.Header.Clone()
				h.Del(key)
				expectRefused("without "+key, one, Request{Header: h, Body: good.Body, URL: good.URL}, now, "missing")
			}
			if s.scheme.Scheme.Timestamped() {
				stale := s.sign(first, now.Add(-6*time.Minute).Unix(), body)
				expectRefused("6 minutes old", one, stale, now, "timestamp outside the 5-minute tolerance")
				expectRefused("6 minutes ahead", one, s.sign(first, now.Add(6*time.Minute).Unix(), body), now, "timestamp outside the 5-minute tolerance")
				expectOK("4 minutes old", one, s.sign(first, now.Add(-4*time.Minute).Unix(), body), now)
				wide := s.scheme
				wide.ToleranceSeconds = 600
				v, _ := New(wide, []string{first})
				expectOK("6 minutes old, 10-minute tolerance", v, stale, now)
			}
			for key, vs := range good.Header {
				if key == "Content-Type" || key == "X-Github-Delivery" {
					continue
				}
				h := good.Header.Clone()
				h[key] = []string{vs[0] + strings.Repeat(" ", 5000)}
				if err := one.Verify(Request{Header: h, Body: good.Body, URL: good.URL}, now); err == nil {
					t.Errorf("%s padded to 5 KB: accepted", key)
				}
			}
			if s.scheme.Scheme == Mandrill {
				expectRefused("another URL", one, Request{Header: good.Header, Body: good.Body, URL: good.URL + "x"}, now, "not match")
			}
		})
	}
}

func TestSignatureHeadersAreBounded(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	v, _ := New(Config{Scheme: StandardWebhooks}, []string{secret})
	good := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	at := time.Unix(1614265330, 0)
	req := func(sig string) Request {
		return Request{Header: hdr("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp", "1614265330", "webhook-signature", sig),
			Body: []byte(`{"test": 2432232314}`)}
	}
	nine := strings.Repeat("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ", 9)
	if err := v.Verify(req(nine+good), at); err != nil {
		t.Errorf("the 10th of 10 signatures: %v", err)
	}
	if err := v.Verify(req(nine+"v1,x "+good), at); err == nil || !strings.Contains(err.Error(), "at most 10") {
		t.Errorf("11 signatures: %v", err)
	}
	if err := v.Verify(req(strings.Repeat("v1,A", 2000)), at); err == nil || !strings.Contains(err.Error(), "longer than 4096 bytes") {
		t.Errorf("an 8 KB header: %v", err)
	}
	if err := v.Verify(req("v2,"+good[3:]), at); err == nil || !strings.Contains(err.Error(), "no v1 signature") {
		t.Errorf("only another version: %v", err)
	}
	// The signature in hex, as openssl dgst prints it without -binary | base64: the sender is
	// told what form it must take, not that there is no v1 signature beside the v1 it sent.
	mac, _ := base64.StdEncoding.DecodeString(good[3:])
	for _, sig := range []string{"v1," + hex.EncodeToString(mac), "v1,AAAA"} {
		err := v.Verify(req(sig), at)
		if err == nil || err.Error() != "header webhook-signature holds no v1 signature in base64 of 32 bytes (the HMAC-SHA256 base64-encoded: 44 characters, not hex)" {
			t.Errorf("%s: %v", sig, err)
		}
	}
}

func TestDeliveryIDs(t *testing.T) {
	rec := func(s string) map[string]any {
		var m map[string]any
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		d.Decode(&m)
		return m
	}
	cases := []struct {
		cfg     Config
		header  http.Header
		records []map[string]any
		want    string
	}{
		{Config{Scheme: Stripe, DeliveryID: DefaultDeliveryID(Stripe)}, nil, []map[string]any{rec(`{"id":"evt_1"}`)}, "evt_1"},
		{Config{DeliveryID: DefaultDeliveryID(StandardWebhooks)}, http.Header{"Svix-Id": {"msg_svix"}}, nil, "msg_svix"},
		{Config{DeliveryID: DefaultDeliveryID(StandardWebhooks)}, http.Header{"Webhook-Id": {"msg_w"}, "Svix-Id": {"msg_s"}}, nil, "msg_w"}, // as the signature check reads them
		{Config{DeliveryID: "header:x-id"}, http.Header{"Svix-Id": {"msg_svix"}}, nil, ""},
		{Config{DeliveryID: "field:event-data.id"}, nil, []map[string]any{rec(`{"event-data":{"id":"ev-9"}}`)}, "ev-9"},
		{Config{DeliveryID: "field:n"}, nil, []map[string]any{rec(`{"n":12345678901234567890}`)}, "12345678901234567890"},
		{Config{DeliveryID: "field:id"}, nil, []map[string]any{rec(`{"id":"a"}`), rec(`{"id":"b"}`)}, ""}, // a batch: none
		{Config{DeliveryID: "field:id"}, nil, []map[string]any{rec(`{"id":{"x":1}}`)}, ""},
		{Config{DeliveryID: "header:X-Request-Id"}, hdr("x-request-id", " r-1 "), nil, "r-1"},
		{Config{DeliveryID: "header:X-Request-Id"}, hdr("x-request-id", strings.Repeat("a", 300)), nil, "sha256:" + hex.EncodeToString(sha256Sum(strings.Repeat("a", 300)))},
		{Config{}, hdr("webhook-id", "x"), nil, ""},
		// Bytes PostgreSQL's text refuses (a NUL from a JSON "\u0000", a header's Latin-1): hashed.
		{Config{DeliveryID: "field:id"}, nil, []map[string]any{rec(`{"id":"a\u0000b"}`)}, "sha256:" + hex.EncodeToString(sha256Sum("a\x00b"))},
		{Config{DeliveryID: "header:X-Request-Id"}, hdr("x-request-id", "caf\xe9"), nil, "sha256:" + hex.EncodeToString(sha256Sum("caf\xe9"))},
	}
	for _, tc := range cases {
		v, err := New(tc.cfg, []string{"secret"})
		if err != nil {
			t.Fatalf("%+v: %v", tc.cfg, err)
		}
		if got := v.DeliveryID(tc.header, tc.records); got != tc.want {
			t.Errorf("%+v: delivery id %q, want %q", tc.cfg, got, tc.want)
		}
	}
}

func sha256Sum(s string) []byte { b := sha256.Sum256([]byte(s)); return b[:] }

func TestSettingsAndSecretsAreValidated(t *testing.T) {
	for _, c := range []Config{
		{Scheme: "rot13"},
		{Scheme: HMAC, Header: "", Hash: "sha256", Encoding: "hex"},
		{Scheme: HMAC, Header: "X-Sig", Hash: "md5", Encoding: "hex"},
		{Scheme: HMAC, Header: "X-Sig", Hash: "sha256", Encoding: "base32"},
		{Scheme: HMAC, Header: "X Sig", Hash: "sha256", Encoding: "hex"},
		{Scheme: StandardWebhooks, DeliveryID: "cookie:x"},
		{Scheme: StandardWebhooks, DeliveryID: "field:a..b"},
		{Scheme: StandardWebhooks, ToleranceSeconds: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
	for _, tc := range []struct {
		scheme Scheme
		secret string
	}{{StandardWebhooks, "whsec_not base64!"}, {SendGrid, "not a key"}, {Basic, "no-colon"}, {Stripe, ""}, {Stripe, strings.Repeat("x", 5000)}} {
		if err := ParseSecret(tc.scheme, tc.secret); err == nil {
			t.Errorf("%s secret %.20q: accepted", tc.scheme, tc.secret)
		}
	}
	if _, err := New(Config{Scheme: Stripe}, nil); err == nil {
		t.Error("a signing scheme without a secret was accepted")
	}
	c := Config{Scheme: HMAC, Header: "X-Hub-Signature-256", Hash: "sha256", Encoding: "hex", Prefix: "sha256=", ToleranceSeconds: 60, DeliveryID: "header:X-GitHub-Delivery"}
	if back, err := Decode(c.Encode()); err != nil || back != c {
		t.Errorf("round trip: %+v %v", back, err)
	}
	if (Config{}).Encode() != "" {
		t.Error("the empty config is not stored as empty")
	}
}

func TestVerifierNeverPrintsItsSecrets(t *testing.T) {
	v, _ := New(Config{Scheme: Stripe}, []string{"whsec_do_not_print"})
	for _, s := range []string{fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s", v, v, v, v), v.LogValue().String()} {
		if strings.Contains(s, "do_not_print") {
			t.Fatalf("printed: %s", s)
		}
	}
}

// BenchmarkVerifyStandardWebhooks is the cost the signed path adds per request: one
// HMAC-SHA256 of a 1 KB body and the header parsing.
func BenchmarkVerifyStandardWebhooks(b *testing.B) {
	v, _ := New(Config{Scheme: StandardWebhooks, DeliveryID: DefaultDeliveryID(StandardWebhooks)}, []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	body := []byte(strings.Repeat(`{"k":"v"},`, 100))
	key, _ := base64.StdEncoding.DecodeString("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	now := time.Now()
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "msg_1.%d.%s", now.Unix(), body)
	r := Request{Header: hdr("webhook-id", "msg_1", "webhook-timestamp", strconv.FormatInt(now.Unix(), 10),
		"webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil))), Body: body}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(r, now); err != nil {
			b.Fatal(err)
		}
	}
}
