// Package signature checks who sent a webhook: Standard Webhooks (Svix), an HMAC of the body
// for any sender, and the schemes of the catalog's providers (Mandrill, SendGrid, Mailgun,
// Customer.io, Stripe, HTTP Basic), and finds the delivery id a request carries. It holds no
// state but the verifier an integration's settings build, and never stores or logs a secret.
package signature

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Scheme names a way of signing deliveries. The zero value is None: the URL's token only.
type Scheme string

// The schemes. Presets (GitHub, Shopify, Segment) are HMAC with fixed parameters.
const (
	None             Scheme = ""
	StandardWebhooks Scheme = "standard-webhooks"
	HMAC             Scheme = "hmac"
	Mandrill         Scheme = "mandrill"
	SendGrid         Scheme = "sendgrid"
	Mailgun          Scheme = "mailgun"
	CustomerIO       Scheme = "customerio"
	Stripe           Scheme = "stripe"
	Basic            Scheme = "basic"
)

// DefaultTolerance is how far a signed timestamp may be from hookhouse's clock, as Standard
// Webhooks and Stripe recommend.
const DefaultTolerance = 5 * time.Minute

// Bounds on what a sender can make us compute: a signature header longer than maxHeader or
// holding more than MaxSignatures signatures is refused before any HMAC runs.
const (
	MaxSignatures  = 10
	maxHeader      = 4096
	maxDeliveryID  = 200 // longer ids are stored as their SHA-256
	MaxSecrets     = 2   // active at once, for rotation
	maxSecretBytes = 4096
)

// Config is an integration's verification settings, all but the secrets. It is stored as
// JSON; the empty Config verifies nothing and deduplicates nothing.
type Config struct {
	Scheme Scheme `json:"scheme,omitempty"`
	// HMAC of the body: the header carrying it, the hash (sha1, sha256, sha512), how the
	// signature is written (hex, base64) and a prefix before it (GitHub: "sha256=").
	Header   string `json:"header,omitempty"`
	Hash     string `json:"hash,omitempty"`
	Encoding string `json:"encoding,omitempty"`
	Prefix   string `json:"prefix,omitempty"`
	// ToleranceSeconds bounds the age of signed timestamps; 0 means DefaultTolerance.
	ToleranceSeconds int `json:"tolerance_seconds,omitempty"`
	// DeliveryID says where a request's delivery id is: "header:<name>" or "field:<path>"
	// (a top-level field, or a dotted path such as event-data.id, of a single-record body);
	// "" for none. Requests with the same id within the dedup window are stored once.
	DeliveryID string `json:"delivery_id,omitempty"`
}

// Empty reports whether the config does nothing, so the webhook path can skip it entirely.
func (c Config) Empty() bool { return c == Config{} }

// Tolerance is the configured timestamp tolerance.
func (c Config) Tolerance() time.Duration {
	if c.ToleranceSeconds <= 0 {
		return DefaultTolerance
	}
	return time.Duration(c.ToleranceSeconds) * time.Second
}

// Encode is the stored form: "" for the empty config, JSON otherwise.
func (c Config) Encode() string {
	if c.Empty() {
		return ""
	}
	b, _ := json.Marshal(c) // a struct of strings and ints cannot fail
	return string(b)
}

// Decode reads a stored config.
func Decode(s string) (Config, error) {
	var c Config
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return Config{}, fmt.Errorf("signature settings: %w", err)
	}
	return c, nil
}

// Timestamped reports whether the scheme signs a timestamp, so the tolerance applies.
func (s Scheme) Timestamped() bool {
	switch s {
	case StandardWebhooks, SendGrid, Mailgun, CustomerIO, Stripe:
		return true
	}
	return false
}

// Validate says what is wrong with the settings, in words for the person who typed them.
func (c Config) Validate() error {
	switch c.Scheme {
	case None, StandardWebhooks, Mandrill, SendGrid, Mailgun, CustomerIO, Stripe, Basic:
	case HMAC:
		if !validHeaderName(c.Header) {
			return &FieldError{FieldScheme, "Enter the name of the header that carries the signature, e.g. X-Hub-Signature-256."}
		}
		if _, ok := hashes[c.Hash]; !ok {
			return &FieldError{FieldScheme, "Choose the hash: SHA-1, SHA-256 or SHA-512."}
		}
		if c.Encoding != "hex" && c.Encoding != "base64" {
			return &FieldError{FieldScheme, "Choose how the signature is written: hex or base64."}
		}
		if len(c.Prefix) > 32 {
			return &FieldError{FieldScheme, "The prefix can be at most 32 characters."}
		}
	default:
		return &FieldError{FieldScheme, fmt.Sprintf("Unknown verification scheme %q.", c.Scheme)}
	}
	if c.ToleranceSeconds < 0 || c.ToleranceSeconds > 7*24*3600 {
		return &FieldError{FieldTolerance, "The timestamp tolerance must be between 1 second and 7 days."}
	}
	if c.DeliveryID != "" {
		kind, name, _ := strings.Cut(c.DeliveryID, ":")
		switch {
		case kind == "header" && validHeaderName(name):
		case kind == "field" && name != "" && len(name) <= 200 && !strings.HasPrefix(name, ".") && !strings.HasSuffix(name, ".") && !strings.Contains(name, ".."):
		default:
			return &FieldError{FieldDeliveryID, "The delivery id must be a header name or a field name (a dotted path for a nested field)."}
		}
	}
	return nil
}

// FieldError is a Config that does not validate: the message says what to fix in which field
// of the Settings form.
type FieldError struct {
	Field   string // FieldScheme (the scheme and an HMAC's parameters), FieldTolerance or FieldDeliveryID
	Message string
}

// The Settings form's fields a FieldError names.
const (
	FieldScheme     = "scheme"
	FieldTolerance  = "tolerance"
	FieldDeliveryID = "delivery_id"
)

func (e *FieldError) Error() string { return e.Message }

func validHeaderName(name string) bool {
	if name == "" || len(name) > 100 {
		return false
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Preset is a named set of settings offered in the Settings form.
type Preset struct {
	Name   string
	Label  string
	Config Config
}

// Presets are the HMAC senders with fixed parameters, and each scheme's delivery id.
var presets = []Preset{
	{"github", "GitHub (X-Hub-Signature-256)", Config{Scheme: HMAC, Header: "X-Hub-Signature-256", Hash: "sha256", Encoding: "hex", Prefix: "sha256=", DeliveryID: "header:X-GitHub-Delivery"}},
	{"shopify", "Shopify (X-Shopify-Hmac-Sha256)", Config{Scheme: HMAC, Header: "X-Shopify-Hmac-Sha256", Hash: "sha256", Encoding: "base64", DeliveryID: "header:X-Shopify-Webhook-Id"}},
	{"segment", "Segment (X-Signature)", Config{Scheme: HMAC, Header: "X-Signature", Hash: "sha1", Encoding: "hex", DeliveryID: "field:messageId"}},
}

// Presets lists the HMAC presets.
func Presets() []Preset { return append([]Preset(nil), presets...) }

// PresetByName returns a preset's settings.
func PresetByName(name string) (Config, bool) {
	for _, p := range presets {
		if p.Name == name {
			return p.Config, true
		}
	}
	return Config{}, false
}

// DefaultDeliveryID is where a scheme's deliveries carry their id, "" when they carry none.
func DefaultDeliveryID(s Scheme) string {
	switch s {
	case StandardWebhooks:
		return "header:webhook-id"
	case Stripe:
		return "field:id" // the event's id, evt_…
	case Mailgun:
		return "field:event-data.id"
	case CustomerIO:
		return "field:event_id"
	}
	return ""
}

// Label is a scheme's name for people.
func (s Scheme) Label() string {
	switch s {
	case None:
		return "None (the URL's token only)"
	case StandardWebhooks:
		return "Standard Webhooks (Svix)"
	case HMAC:
		return "HMAC of the body"
	case Mandrill:
		return "Mandrill (X-Mandrill-Signature)"
	case SendGrid:
		return "SendGrid Signed Event Webhook (ECDSA)"
	case Mailgun:
		return "Mailgun (signature in the body)"
	case CustomerIO:
		return "Customer.io (X-CIO-Signature)"
	case Stripe:
		return "Stripe (Stripe-Signature)"
	case Basic:
		return "HTTP Basic credentials (Postmark, SparkPost)"
	}
	return string(s)
}

// Schemes lists every scheme in the order the Settings form offers them.
func Schemes() []Scheme {
	return []Scheme{None, StandardWebhooks, HMAC, Mandrill, SendGrid, Mailgun, CustomerIO, Stripe, Basic}
}

// Error is a refused request's reason, one a sender can act on. It never holds a secret.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func refuse(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

var errMismatch = &Error{Reason: "signature does not match"}

// Request is what verification reads of a webhook request.
type Request struct {
	Header http.Header
	Body   []byte
	// URL is the webhook URL as the provider knows it (Mandrill signs it); only read by
	// schemes that need it (see Verifier.NeedsURL).
	URL string
	// Remembered is how long a delivery id is remembered (-dedup-window); 0: for ever. A
	// verifier that deduplicates accepts a timestamp at most half of it away (see
	// checkTimestamp), so no replay it accepts comes after its id is forgotten.
	Remembered time.Duration
}

// Verifier checks one integration's requests. It is built once per cached webhook target;
// its secrets are held decoded, ready to use, and are never printed.
type Verifier struct {
	cfg       Config
	tolerance time.Duration
	check     func(v *Verifier, r Request, now time.Time) error
	keys      [][]byte // HMAC keys or Basic credentials, in the order saved
	ecdsaKeys []ecdsaKey
	macs      []*sync.Pool // per key, reusable HMAC states (see anyMAC)
	idHeaders []string     // the delivery id's header, then the other name it may have
	idPath    []string
}

// New builds the verifier of cfg with its secrets (at most MaxSecrets, each as the user
// entered it). A config with neither a scheme nor a delivery id needs no verifier: callers
// keep nil for it.
func New(cfg Config, secrets []string) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Scheme != None && len(secrets) == 0 {
		return nil, errors.New("no secret saved")
	}
	v := &Verifier{cfg: cfg, tolerance: cfg.Tolerance()}
	if kind, name, _ := strings.Cut(cfg.DeliveryID, ":"); kind == "header" {
		v.idHeaders = []string{http.CanonicalHeaderKey(name)}
		if v.idHeaders[0] == webhookID[0].key {
			// Svix sends webhook-id as svix-id, and the signature check takes either.
			v.idHeaders = append(v.idHeaders, webhookID[1].key)
		}
	} else if kind == "field" {
		v.idPath = strings.Split(name, ".")
	}
	for _, s := range secrets {
		if err := v.addSecret(s); err != nil {
			return nil, err
		}
	}
	v.check = checks[cfg.Scheme]
	v.preparePools()
	return v, nil
}

// ParseSecret says whether secret is usable for scheme, in words for the person entering it.
func ParseSecret(scheme Scheme, secret string) error {
	_, err := New(Config{Scheme: scheme, Header: "X", Hash: "sha256", Encoding: "hex"}, []string{secret})
	return err
}

func (v *Verifier) addSecret(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return errors.New("Enter the secret.")
	case len(s) > maxSecretBytes:
		return fmt.Errorf("The secret can be at most %d characters.", maxSecretBytes)
	}
	switch v.cfg.Scheme {
	case StandardWebhooks:
		key, err := standardKey(s)
		if err != nil {
			return err
		}
		v.keys = append(v.keys, key)
	case SendGrid:
		k, err := parseECDSAKey(s)
		if err != nil {
			return err
		}
		v.ecdsaKeys = append(v.ecdsaKeys, k)
	case Basic:
		if !strings.Contains(s, ":") {
			return errors.New("Enter the credentials as username:password.")
		}
		v.keys = append(v.keys, []byte(s))
	default:
		v.keys = append(v.keys, []byte(s))
	}
	return nil
}

// Signs reports whether requests must carry a valid signature or credentials.
func (v *Verifier) Signs() bool { return v != nil && v.cfg.Scheme != None }

// NeedsURL reports whether Verify reads Request.URL (Mandrill signs the URL).
func (v *Verifier) NeedsURL() bool { return v != nil && v.cfg.Scheme == Mandrill }

// Verify returns nil when the request is signed by one of the secrets, else an *Error.
func (v *Verifier) Verify(r Request, now time.Time) error {
	if !v.Signs() {
		return nil
	}
	return v.check(v, r, now)
}

// DeliveryID is the delivery's id, or "" when it carries none. A body field counts only in a
// single-record body: in a batch, the first record's id would drop the rest on a match, and
// each record is better keyed by the integration's primary key. Ids longer than 200 bytes
// become their SHA-256, so a sender cannot grow the dedup table by long ids; so do ids that
// are not UTF-8 or hold a NUL byte, which PostgreSQL's text refuses.
func (v *Verifier) DeliveryID(h http.Header, records []map[string]any) string {
	if v == nil {
		return ""
	}
	var id string
	switch {
	case v.idHeaders != nil:
		for _, name := range v.idHeaders {
			if vs := h[name]; len(vs) > 0 && vs[0] != "" {
				id = strings.TrimSpace(vs[0])
				break
			}
		}
	case v.idPath != nil && len(records) == 1:
		id = field(records[0], v.idPath)
	}
	if len(id) > maxDeliveryID || !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0 {
		sum := sha256.Sum256([]byte(id))
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	return id
}

func field(rec map[string]any, path []string) string {
	var cur any = rec
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	switch x := cur.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

// String, GoString and LogValue keep secrets out of any print or log of a verifier.
func (v *Verifier) String() string   { return "signature.Verifier(" + string(v.cfg.Scheme) + ")" }
func (v *Verifier) GoString() string { return v.String() }

// LogValue implements slog.LogValuer.
func (v *Verifier) LogValue() slog.Value { return slog.StringValue(v.String()) }

// toleranceReason is the refusal for a stale or future timestamp, naming the tolerance.
func (v *Verifier) toleranceReason() error {
	t := v.tolerance
	if t%time.Minute == 0 {
		return refuse("timestamp outside the %d-minute tolerance", int(t/time.Minute))
	}
	return refuse("timestamp outside the %s tolerance", t)
}

// checkTimestamp reads a Unix time in seconds from a header (or signed field) named what. With
// a delivery id, the timestamp may also be at most half of r.Remembered away: a request
// accepted at a (its timestamp within t of a) can be replayed until its timestamp plus t,
// which is at most a + 2t, and its id is remembered until a + Remembered.
func (v *Verifier) checkTimestamp(r Request, value, what string, now time.Time) error {
	if value == "" {
		return refuse("%s is missing", what)
	}
	var ts int64
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c < '0' || c > '9' || i >= 12 {
			return refuse("%s is not a Unix time in seconds", what)
		}
		ts = ts*10 + int64(c-'0')
	}
	d := now.Sub(time.Unix(ts, 0))
	if d > v.tolerance || d < -v.tolerance {
		return v.toleranceReason()
	}
	if bound := r.Remembered / 2; bound > 0 && (v.idHeaders != nil || v.idPath != nil) && (d > bound || d < -bound) {
		return refuse("timestamp more than %s away: delivery ids are remembered for %s (-dedup-window), so a replay of this request could not be told from a new delivery", bound, r.Remembered)
	}
	return nil
}

// header returns a request header, refusing it when missing or longer than maxHeader.
func header(h http.Header, canonical, shown string) (string, error) {
	vs := h[canonical]
	if len(vs) == 0 || vs[0] == "" {
		return "", refuse("header %s is missing", shown)
	}
	if len(vs[0]) > maxHeader {
		return "", refuse("header %s is longer than %d bytes", shown, maxHeader)
	}
	return vs[0], nil
}
