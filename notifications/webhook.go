package notifications

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"

	"datashare/models"
)

// WebhookTimeout is how long a receiver has to answer.
const WebhookTimeout = 5 * time.Second

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

// NewWebhookSender returns a sender with a 5-second timeout per call.
func NewWebhookSender(db *models.DB) *WebhookSender {
	return &WebhookSender{db: db, client: &http.Client{Timeout: WebhookTimeout}}
}

// Send posts the body rendered for the delivery, signed with the webhook's
// secret. Any answer
// but 2xx, or none within the timeout, is an error to retry.
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
		return fmt.Errorf("webhook %d: %w", h.ID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "datashare-webhook/1")
	req.Header.Set("X-Datashare-Event", d.Event)
	req.Header.Set("X-Datashare-Delivery", d.DeliveryID)
	req.Header.Set("X-Datashare-Signature", Sign(h.Secret, body))
	res, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("post to webhook %d: %w", h.ID, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("webhook %d answered %s", h.ID, res.Status)
	}
	return nil
}
