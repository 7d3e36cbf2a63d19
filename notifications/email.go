package notifications

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	mail "github.com/wneessen/go-mail"

	"datashare/models"
)

// SMTP is how to reach the mail server, parsed from a URL such as
// smtp://user:pass@mail.agency.gov.sg:587 (STARTTLS required),
// smtp://host:25?tls=none, smtp://host:587?tls=opportunistic or
// smtps://user:pass@host:465 (implicit TLS).
type SMTP struct {
	Host       string
	Port       int
	Username   string
	Password   string
	TLS        string // starttls, opportunistic, none or implicit
	SkipVerify bool   // for a test server with a self-signed certificate
}

// ParseSMTPURL reads an SMTP URL.
func ParseSMTPURL(s string) (SMTP, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return SMTP{}, fmt.Errorf("SMTP URL must look like smtp://user:pass@host:587")
	}
	c := SMTP{Host: u.Hostname(), TLS: "starttls"}
	switch u.Scheme {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.Port, c.TLS = 465, "implicit"
	default:
		return SMTP{}, fmt.Errorf("SMTP URL scheme must be smtp or smtps, got %q", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil {
			return SMTP{}, fmt.Errorf("SMTP port %q is not a number", p)
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	q := u.Query()
	if t := q.Get("tls"); t != "" {
		switch t {
		case "starttls", "opportunistic", "none":
			if u.Scheme == "smtps" {
				return SMTP{}, fmt.Errorf("smtps:// always uses implicit TLS; drop tls=%s", t)
			}
			c.TLS = t
		default:
			return SMTP{}, fmt.Errorf("tls must be starttls, opportunistic or none, got %q", t)
		}
	}
	c.SkipVerify = q.Get("insecure_skip_verify") == "true"
	return c, nil
}

// Redacted is the URL with its password hidden, for logs.
func (c SMTP) Redacted() string {
	user := ""
	if c.Username != "" {
		user = c.Username + ":********@"
	}
	if c.TLS == "implicit" {
		return fmt.Sprintf("smtps://%s%s:%d", user, c.Host, c.Port)
	}
	return fmt.Sprintf("smtp://%s%s:%d?tls=%s", user, c.Host, c.Port, c.TLS)
}

// Mailer sends email deliveries over SMTP.
type Mailer struct {
	cfg  SMTP
	from string
}

// NewMailer returns a Mailer sending as from.
func NewMailer(cfg SMTP, from string) *Mailer { return &Mailer{cfg: cfg, from: from} }

func (m *Mailer) client() (*mail.Client, error) {
	opts := []mail.Option{mail.WithPort(m.cfg.Port), mail.WithTimeout(WebhookTimeout * 2)}
	switch m.cfg.TLS {
	case "implicit":
		opts = append(opts, mail.WithSSL())
	case "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "opportunistic":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if m.cfg.SkipVerify {
		opts = append(opts, mail.WithTLSConfig(&tls.Config{InsecureSkipVerify: true, ServerName: m.cfg.Host})) // #nosec G402 -- opt-in for test servers
	}
	if m.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(m.cfg.Username), mail.WithPassword(m.cfg.Password))
	}
	return mail.NewClient(m.cfg.Host, opts...)
}

// Message builds the MIME message of a delivery.
func (m *Mailer) Message(d *models.Delivery) (*mail.Msg, error) {
	var p Mail
	if err := json.Unmarshal([]byte(d.Payload), &p); err != nil {
		return nil, fmt.Errorf("read mail payload: %w", err)
	}
	msg := mail.NewMsg()
	if err := msg.From(m.from); err != nil {
		return nil, fmt.Errorf("from %q: %w", m.from, err)
	}
	if err := msg.To(p.To); err != nil {
		return nil, fmt.Errorf("to %q: %w", p.To, err)
	}
	msg.Subject(p.Subject)
	msg.SetMessageIDWithValue(strings.ReplaceAll(d.DeliveryID, "-", "") + "@datashare")
	msg.SetGenHeader("X-Datashare-Delivery", d.DeliveryID)
	msg.SetGenHeader("X-Datashare-Event", d.Event)
	msg.SetBodyString(mail.TypeTextPlain, p.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, p.HTML)
	for _, a := range p.Attachments {
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), mail.WithFileContentType(mail.ContentType(a.ContentType))); err != nil {
			return nil, fmt.Errorf("attach %s: %w", a.Name, err)
		}
	}
	return msg, nil
}

// Send delivers one email.
func (m *Mailer) Send(ctx context.Context, d *models.Delivery) error {
	msg, err := m.Message(d)
	if err != nil {
		return err
	}
	c, err := m.client()
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail to %s: %w", d.Recipient, err)
	}
	return nil
}
