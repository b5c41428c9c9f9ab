package signature

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"hash"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// checks verifies a request for each scheme that signs.
var checks = map[Scheme]func(v *Verifier, r Request, now time.Time) error{
	StandardWebhooks: checkStandardWebhooks,
	HMAC:             checkHMAC,
	Mandrill:         checkMandrill,
	SendGrid:         checkSendGrid,
	Mailgun:          checkMailgun,
	CustomerIO:       checkCustomerIO,
	Stripe:           checkStripe,
	Basic:            checkBasic,
}

type hashSpec struct {
	new  func() hash.Hash
	size int
}

var hashes = map[string]hashSpec{
	"sha1":   {sha1.New, sha1.Size},
	"sha256": {sha256.New, sha256.Size},
	"sha512": {sha512.New, sha512.Size},
}

// macState is a keyed HMAC ready for reuse, with its buffers: the signed path then
// allocates nothing per request.
type macState struct {
	h        hash.Hash
	buf, sum []byte
}

// preparePools builds one pool of HMAC states per key, for the scheme's hash.
func (v *Verifier) preparePools() {
	spec := hashes["sha256"]
	switch v.cfg.Scheme {
	case Mandrill:
		spec = hashes["sha1"]
	case HMAC:
		spec = hashes[v.cfg.Hash]
	}
	v.macs = make([]*sync.Pool, len(v.keys))
	for i, key := range v.keys {
		v.macs[i] = &sync.Pool{New: func() any { return &macState{h: hmac.New(spec.new, key)} }}
	}
}

// anyMAC reports whether one of the keys' HMAC of the prefix parts followed by body equals one
// of the candidates. Each key's MAC is computed once, whatever the number of candidates; the
// comparisons are constant-time.
func (v *Verifier) anyMAC(candidates [][]byte, body []byte, prefix ...string) bool {
	ok := false
	for _, pool := range v.macs {
		st := pool.Get().(*macState)
		st.buf = st.buf[:0]
		for _, p := range prefix {
			st.buf = append(st.buf, p...)
		}
		st.h.Reset()
		st.h.Write(st.buf)
		st.h.Write(body)
		st.sum = st.h.Sum(st.sum[:0])
		for _, c := range candidates {
			if hmac.Equal(st.sum, c) {
				ok = true
			}
		}
		pool.Put(st)
	}
	return ok
}

// standardKey decodes a Standard Webhooks secret: whsec_ and the base64 of the key.
func standardKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if err != nil || len(key) == 0 {
		return nil, errors.New("A Standard Webhooks secret is whsec_ followed by base64, e.g. whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw.")
	}
	return key, nil
}

// headerName is a header as net/http keys it and as refusals name it.
type headerName struct{ key, shown string }

var (
	webhookID        = []headerName{{"Webhook-Id", "webhook-id"}, {"Svix-Id", "svix-id"}}
	webhookTimestamp = []headerName{{"Webhook-Timestamp", "webhook-timestamp"}, {"Svix-Timestamp", "svix-timestamp"}}
	webhookSignature = []headerName{{"Webhook-Signature", "webhook-signature"}, {"Svix-Signature", "svix-signature"}}
)

// firstHeader reads the first of the names a header may have (webhook-id or svix-id).
func firstHeader(r Request, names []headerName) (string, string, error) {
	for _, n := range names {
		if vs := r.Header[n.key]; len(vs) > 0 && vs[0] != "" {
			v, err := header(r.Header, n.key, n.shown)
			return v, n.shown, err
		}
	}
	return "", "", refuse("header %s is missing", names[0].shown)
}

// checkStandardWebhooks: HMAC-SHA256 of "id.timestamp.body", base64, "v1,<sig>" entries
// separated by spaces (https://www.standardwebhooks.com/); Svix sends the same under svix-*.
func checkStandardWebhooks(v *Verifier, r Request, now time.Time) error {
	id, _, err := firstHeader(r, webhookID)
	if err != nil {
		return err
	}
	ts, tsName, err := firstHeader(r, webhookTimestamp)
	if err != nil {
		return err
	}
	what := "header webhook-timestamp"
	if tsName == "svix-timestamp" {
		what = "header svix-timestamp"
	}
	if err := v.checkTimestamp(r, ts, what, now); err != nil {
		return err
	}
	sigs, sigName, err := firstHeader(r, webhookSignature)
	if err != nil {
		return err
	}
	// Decoded on the stack: the signed path allocates nothing of its own.
	var decoded [MaxSignatures][48]byte
	var cands [MaxSignatures][]byte
	n, fields, v1s := 0, 0, 0
	for rest := sigs; rest != ""; {
		var f string
		f, rest, _ = strings.Cut(rest, " ")
		if f == "" {
			continue
		}
		if fields++; fields > MaxSignatures {
			return refuse("header %s holds more than %d signatures; at most %d are checked", sigName, MaxSignatures, MaxSignatures)
		}
		sig, ok := strings.CutPrefix(f, "v1,")
		if !ok {
			continue // other versions (v1a: asymmetric) are not ours to check
		}
		if v1s++; len(sig) > 44 {
			continue
		}
		var src [44]byte
		if k, err := base64.StdEncoding.Decode(decoded[n][:], src[:copy(src[:], sig)]); err == nil && k == sha256.Size {
			cands[n] = decoded[n][:k]
			n++
		}
	}
	if n == 0 && v1s > 0 { // a hex HMAC is the usual mistake: say what form is checked
		return refuse("header %s holds no v1 signature in base64 of 32 bytes (the HMAC-SHA256 base64-encoded: 44 characters, not hex)", sigName)
	}
	if n == 0 {
		return refuse("header %s holds no v1 signature", sigName)
	}
	if !v.anyMAC(cands[:n], r.Body, id, ".", ts, ".") {
		return errMismatch
	}
	return nil
}

// checkHMAC: the body's HMAC in a header, hex or base64, maybe after a prefix.
func checkHMAC(v *Verifier, r Request, _ time.Time) error {
	name := v.cfg.Header
	value, err := header(r.Header, http.CanonicalHeaderKey(name), name)
	if err != nil {
		return err
	}
	if p := v.cfg.Prefix; p != "" {
		rest, ok := strings.CutPrefix(value, p)
		if !ok {
			return refuse("header %s does not start with %s", name, p)
		}
		value = rest
	}
	spec := hashes[v.cfg.Hash]
	sig, err := decodeSignature(value, v.cfg.Encoding)
	if err != nil || len(sig) != spec.size {
		return refuse("header %s does not hold a %s %s signature", name, v.cfg.Encoding, strings.ToUpper(v.cfg.Hash))
	}
	if !v.anyMAC([][]byte{sig}, r.Body) {
		return errMismatch
	}
	return nil
}

func decodeSignature(s, encoding string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if encoding == "hex" {
		return hex.DecodeString(s)
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.URLEncoding.DecodeString(s)
}

// checkMandrill: base64 HMAC-SHA1 of the webhook URL followed by each POST field's name and
// value, fields sorted by name (Mandrill's "Authenticating webhook requests").
func checkMandrill(v *Verifier, r Request, _ time.Time) error {
	sig, err := header(r.Header, "X-Mandrill-Signature", "X-Mandrill-Signature")
	if err != nil {
		return err
	}
	want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(want) != sha1.Size {
		return refuse("header X-Mandrill-Signature does not hold a base64 SHA-1 signature")
	}
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return refuse("the body is not form-encoded, as Mandrill sends it")
	}
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	slices.Sort(names)
	signed := []byte(r.URL)
	for _, k := range names {
		vs := form[k]
		signed = append(append(signed, k...), vs[len(vs)-1]...) // the last value, as PHP's $_POST keeps
	}
	if !v.anyMAC([][]byte{want}, signed) {
		return refuse("signature does not match (Mandrill signs the webhook URL too: it must be the URL saved in Mandrill, see -public-url)")
	}
	return nil
}

type ecdsaKey = *ecdsa.PublicKey

// parseECDSAKey reads SendGrid's verification key: the base64 of a DER public key, as SendGrid
// shows it, or the same in PEM.
func parseECDSAKey(s string) (ecdsaKey, error) {
	der, err := base64.StdEncoding.DecodeString(s)
	if block, _ := pem.Decode([]byte(s)); block != nil {
		der, err = block.Bytes, nil
	}
	bad := errors.New("SendGrid's verification key is a base64 public key starting MFkw… (Settings > Mail Settings > Event Webhooks, Signed Event Webhook).")
	if err != nil {
		return nil, bad
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, bad
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, bad
	}
	return k, nil
}

// checkSendGrid: ECDSA P-256 over SHA-256 of the timestamp header followed by the body,
// base64 DER in X-Twilio-Email-Event-Webhook-Signature.
func checkSendGrid(v *Verifier, r Request, now time.Time) error {
	const sigName, tsName = "X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"
	sig, err := header(r.Header, sigName, sigName)
	if err != nil {
		return err
	}
	ts, err := header(r.Header, tsName, tsName)
	if err != nil {
		return err
	}
	if err := v.checkTimestamp(r, ts, "header "+tsName, now); err != nil {
		return err
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		return refuse("header %s is not base64", sigName)
	}
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(r.Body)
	digest := h.Sum(nil)
	for _, k := range v.ecdsaKeys {
		if ecdsa.VerifyASN1(k, digest, der) {
			return nil
		}
	}
	return errMismatch
}

// checkMailgun: hex HMAC-SHA256 of the timestamp and token of the body's signature object
// (or, in Mailgun's older form-encoded webhooks, of the timestamp and token fields). The
// signature covers no part of the event itself: the tolerance and the event id bound replays.
func checkMailgun(v *Verifier, r Request, now time.Time) error {
	var ts, token, sig string
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(r.Body))
		if err != nil {
			return refuse("the body is not form-encoded")
		}
		ts, token, sig = form.Get("timestamp"), form.Get("token"), form.Get("signature")
	} else {
		var body struct {
			Signature struct {
				Timestamp json.RawMessage `json:"timestamp"`
				Token     string          `json:"token"`
				Signature string          `json:"signature"`
			} `json:"signature"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			return refuse("the body is not the JSON Mailgun sends")
		}
		ts = strings.Trim(string(body.Signature.Timestamp), `"`)
		token, sig = body.Signature.Token, body.Signature.Signature
	}
	if sig == "" || token == "" {
		return refuse("the body has no signature object (timestamp, token, signature), as Mailgun sends it")
	}
	if err := v.checkTimestamp(r, ts, "signature.timestamp", now); err != nil {
		return err
	}
	want, err := hex.DecodeString(sig)
	if err != nil || len(want) != sha256.Size {
		return refuse("signature.signature is not a hex SHA-256 signature")
	}
	if !v.anyMAC([][]byte{want}, nil, ts, token) {
		return errMismatch
	}
	return nil
}

// checkCustomerIO: hex HMAC-SHA256 of "v0:<X-CIO-Timestamp>:<body>" in X-CIO-Signature.
func checkCustomerIO(v *Verifier, r Request, now time.Time) error {
	ts, err := header(r.Header, "X-Cio-Timestamp", "X-CIO-Timestamp")
	if err != nil {
		return err
	}
	if err := v.checkTimestamp(r, ts, "header X-CIO-Timestamp", now); err != nil {
		return err
	}
	sig, err := header(r.Header, "X-Cio-Signature", "X-CIO-Signature")
	if err != nil {
		return err
	}
	want, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(want) != sha256.Size {
		return refuse("header X-CIO-Signature is not a hex SHA-256 signature")
	}
	if !v.anyMAC([][]byte{want}, r.Body, "v0:", ts, ":") {
		return errMismatch
	}
	return nil
}

// checkStripe: Stripe-Signature "t=<timestamp>,v1=<hex>[,v1=…]", HMAC-SHA256 of
// "<t>.<body>" with the endpoint's secret as it is shown (whsec_…, not decoded).
func checkStripe(v *Verifier, r Request, now time.Time) error {
	value, err := header(r.Header, "Stripe-Signature", "Stripe-Signature")
	if err != nil {
		return err
	}
	items := strings.Split(value, ",")
	if len(items) > 2*MaxSignatures {
		return refuse("header Stripe-Signature holds %d items; at most %d signatures are checked", len(items), MaxSignatures)
	}
	var ts string
	var candidates [][]byte
	for _, item := range items {
		k, val, _ := strings.Cut(strings.TrimSpace(item), "=")
		switch k {
		case "t":
			ts = val
		case "v1":
			if b, err := hex.DecodeString(val); err == nil {
				candidates = append(candidates, b)
			}
		}
	}
	if len(candidates) > MaxSignatures {
		return refuse("header Stripe-Signature holds %d signatures; at most %d are checked", len(candidates), MaxSignatures)
	}
	if err := v.checkTimestamp(r, ts, "the timestamp (t=) of header Stripe-Signature", now); err != nil {
		return err
	}
	if len(candidates) == 0 {
		return refuse("header Stripe-Signature holds no v1 signature")
	}
	if !v.anyMAC(candidates, r.Body, ts, ".") {
		return errMismatch
	}
	return nil
}

// checkBasic: HTTP Basic credentials (Postmark and SparkPost put them in the webhook's
// settings). Compared as SHA-256 digests in constant time, so neither content nor length leaks.
func checkBasic(v *Verifier, r Request, _ time.Time) error {
	auth, err := header(r.Header, "Authorization", "Authorization")
	if err != nil {
		return refuse("header Authorization is missing: Basic credentials are required")
	}
	scheme, encoded, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return refuse("header Authorization does not hold Basic credentials")
	}
	cred, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return refuse("header Authorization does not hold Basic credentials")
	}
	got := sha256.Sum256(cred)
	ok := 0
	for _, k := range v.keys {
		want := sha256.Sum256(k)
		ok |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	if ok != 1 {
		return refuse("credentials do not match")
	}
	return nil
}
