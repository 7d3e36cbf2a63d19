package notifications_test

import (
	"context"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
	"datashare/notifications"
)

// TestRequeueDeadPutsBackEveryDeadDelivery: more dead deliveries than a
// page of the list, some of a deleted webhook; every one is requeued but
// those, which are counted as skipped and stay dead.
func TestRequeueDeadPutsBackEveryDeadDelivery(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db, true)
		gone := e.mustWebhook(t, "https://receiver.example/gone", "*")
		if err := e.notes.DeleteWebhook(context.Background(), adminActor, gone.ID); err != nil {
			t.Fatal(err)
		}
		const dead, ofGone = 450, 30
		rows := make([]models.Delivery, 0, dead)
		at := e.clock.Now().UTC()
		for i := range dead {
			d := models.Delivery{DeliveryID: notifications.NewDeliveryID(), Event: notifications.RequestSubmitted, Channel: notifications.Email,
				Recipient: "approver1@moh.gov.sg", Payload: "{}", State: notifications.StateDead, Attempts: 10,
				NextAttemptAt: at, CreatedAt: at.Add(time.Duration(i) * time.Second), LastError: "HTTP 500"}
			if i%(dead/ofGone) == 0 {
				id := gone.ID
				d.Channel, d.WebhookID, d.Recipient = notifications.Webhook, &id, "https://receiver.example/gone"
			}
			rows = append(rows, d)
		}
		if err := db.Gorm.CreateInBatches(rows, 100).Error; err != nil {
			t.Fatal(err)
		}
		requeued, skipped, err := e.notes.RequeueDead(context.Background(), adminActor)
		if err != nil {
			t.Fatal(err)
		}
		if requeued != dead-ofGone || skipped != ofGone {
			t.Errorf("requeued %d, skipped %d; want %d and %d", requeued, skipped, dead-ofGone, ofGone)
		}
		if n := mustCount(t, db, "outbox", "state = ?", notifications.StateDead); n != ofGone {
			t.Errorf("dead after requeueing all: got %d, want %d (those of the deleted webhook)", n, ofGone)
		}
	})
}
