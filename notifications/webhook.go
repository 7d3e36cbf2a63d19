package notifications

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"datashare/models"
)

// WebhookTimeout is how long a receiver has to answer.
const WebhookTimeout = 5 * time.Second

// What a failed webhook attempt records as its last_error. The dialler's
// own words are left out: "connection refused" beside "no route to host"
// would let an admin map which ports of an internal address are open.
const (
	FailRefused    = "refused by policy"
	FailTimeout    = "timeout"
	FailConnection = "connection failed"
)

// Failure is a failed attempt as the outbox records it: Category for
// last_error, Err for the service's log.
type Failure struct {
	Category string
	Err      error
}

func (f *Failure) Error() string {
	if f.Err == nil {
		return f.Category
	}
	return f.Category + ": " + f.Err.Error()
}

func (f *Failure) Unwrap() error { return f.Err }

// Sign returns the X-Datashare-Signature value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// WebhookSender posts deliveries to webhook receivers.
type WebhookSender struct {
	db     *models.DB
	client *http.Client
}

// NewWebhookSender returns a sender with a 5-second timeout per call that
// connects only to the addresses guard allows and follows no redirect.
func NewWebhookSender(db *models.DB, guard *Guard) *WebhookSender {
	dialer := &net.Dialer{Timeout: WebhookTimeout, KeepAlive: 30 * time.Second, Control: guard.control}
	transport := &http.Transport{
		// No proxy: the guard must judge the receiver's address, not a
		// proxy's.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   WebhookTimeout,
		ExpectContinueTimeout: time.Second,
	}
	client := &http.Client{
		Timeout:   WebhookTimeout,
		Transport: transport,
		// A redirect could lead anywhere the guard would not have been
		// asked about by name, and 307/308 would repeat the signed body.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &WebhookSender{db: db, client: client}
}

// Send posts the body rendered for the delivery, signed with the webhook's
// secret. Any answer but 2xx, a redirect included, or none within the
// timeout, is an error to retry; a failed attempt's error is a *Failure.
func (s *WebhookSender) Send(ctx context.Context, d *models.Delivery) error {
	if d.WebhookID == nil {
		return fmt.Errorf("webhook delivery without a webhook")
	}
	var h models.Webhook
	if err := s.db.Conn(ctx).Take(&h, "id = ?", *d.WebhookID).Error; err != nil {
		return fmt.Errorf("load webhook %d: %w", *d.WebhookID, err)
	}
	if h.DeletedAt != nil {
		return fmt.Errorf("webhook %d was deleted", h.ID)
	}
	body := []byte(d.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return &Failure{Category: FailRefused, Err: fmt.Errorf("webhook %d: %w", h.ID, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "datashare-webhook/1")
	req.Header.Set("X-Datashare-Event", d.Event)
	req.Header.Set("X-Datashare-Delivery", d.DeliveryID)
	req.Header.Set("X-Datashare-Signature", Sign(h.Secret, body))
	res, err := s.client.Do(req)
	if err != nil {
		return &Failure{Category: category(err), Err: fmt.Errorf("post to webhook %d: %w", h.ID, err)}
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	switch {
	case res.StatusCode >= 200 && res.StatusCode <= 299:
		return nil
	case res.StatusCode >= 300 && res.StatusCode <= 399:
		return &Failure{Category: fmt.Sprintf("HTTP %d: redirects are not followed", res.StatusCode),
			Err: fmt.Errorf("webhook %d answered %s", h.ID, res.Status)}
	default:
		return &Failure{Category: fmt.Sprintf("HTTP %d", res.StatusCode), Err: fmt.Errorf("webhook %d answered %s", h.ID, res.Status)}
	}
}

// category names the kind of a failure to get an answer.
func category(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ErrRefused):
		return FailRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return FailTimeout
	default:
		return FailConnection
	}
}

// DisplayURL is a webhook URL as it may be shown: without the user name
// and password of one registered before they were refused.
func DisplayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
