package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"datashare/models"
)

// ChainVersion is the first schema version whose history rows carry hashes.
const ChainVersion = 11

// page is how many history rows one query reads: verification and export
// hold a page, never the whole history.
const page = 5000

// Break is the first history row at which a request's chain does not hold.
type Break struct {
	RequestID int64
	HistoryID int64 // 0 when the request has no history at all
	Problem   string
}

func (b *Break) Error() string {
	if b.HistoryID == 0 {
		return fmt.Sprintf("request %d: %s", b.RequestID, b.Problem)
	}
	return fmt.Sprintf("request %d, history row %d: %s", b.RequestID, b.HistoryID, b.Problem)
}

// Summary counts what Verify checked.
type Summary struct {
	Requests int
	Rows     int
}

// row is a history row as verification reads it, with the state its
// request was in when the same statement read it.
type row struct {
	models.Transition
	RequestState string
}

// Verify recomputes the chain of every request, in request and history id
// order, and returns a *Break for the first row that does not match: a hash
// that is not that of the row's content and prev_hash, a prev_hash that is
// not the hash of the row before, a request whose last row does not end in
// its current state (a removed last row), or a request without history. It
// takes no lock, so it may run beside the service: each page is read in
// one statement, and a row that arrives meanwhile chains onto a row already
// checked or is read by a later page.
func Verify(ctx context.Context, db *models.DB) (Summary, error) {
	var sum Summary
	if err := requireChain(ctx, db); err != nil {
		return sum, err
	}
	var last *row
	endOfChain := func() error {
		if last != nil && last.ToState != last.RequestState {
			return &Break{RequestID: last.RequestID, HistoryID: last.ID,
				Problem: fmt.Sprintf("the request is %s but its last history row ends in %s: a later row is missing", last.RequestState, last.ToState)}
		}
		return nil
	}
	for {
		var rows []row
		q := db.Gorm.WithContext(ctx).Table("transitions").
			Select("transitions.*, requests.state AS request_state").
			Joins("JOIN requests ON requests.id = transitions.request_id").
			Order("transitions.request_id, transitions.id").Limit(page)
		if last != nil {
			// A row value, so that both databases seek in transitions_request.
			q = q.Where("(transitions.request_id, transitions.id) > (?, ?)", last.RequestID, last.ID)
		}
		if err := q.Find(&rows).Error; err != nil {
			return sum, fmt.Errorf("read history: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		for i := range rows {
			r := &rows[i]
			prev := ""
			if last != nil && last.RequestID == r.RequestID {
				prev = last.Hash
			} else {
				if err := endOfChain(); err != nil {
					return sum, err
				}
				sum.Requests++
			}
			if err := check(r.Transition, prev, last); err != nil {
				return sum, err
			}
			sum.Rows++
			last = r
		}
	}
	if err := endOfChain(); err != nil {
		return sum, err
	}
	var bare []int64
	err := db.Gorm.WithContext(ctx).Raw(`SELECT id FROM requests r WHERE NOT EXISTS
		(SELECT 1 FROM transitions t WHERE t.request_id = r.id) ORDER BY id LIMIT 1`).Scan(&bare).Error
	if err != nil {
		return sum, fmt.Errorf("find requests without history: %w", err)
	}
	if len(bare) > 0 {
		return sum, &Break{RequestID: bare[0], Problem: "the request has no history: its rows are missing"}
	}
	return sum, nil
}

// check compares one row with the chain before it; prev is the hash of the
// request's row before (before, when of the same request), "" for its first.
func check(t models.Transition, prev string, before *row) error {
	if t.PrevHash != prev {
		problem := fmt.Sprintf("prev_hash %s is set but no earlier row of the request is stored: an earlier row is missing", short(t.PrevHash))
		if prev != "" {
			problem = fmt.Sprintf("prev_hash %s is not the hash of history row %d (%s): a row between them is missing or was changed", short(t.PrevHash), before.ID, short(prev))
		}
		return &Break{RequestID: t.RequestID, HistoryID: t.ID, Problem: problem}
	}
	if want := models.HistoryHash(t, prev); t.Hash != want {
		return &Break{RequestID: t.RequestID, HistoryID: t.ID,
			Problem: fmt.Sprintf("hash %s does not match the row's content, which hashes to %s: the row was changed", short(t.Hash), short(want))}
	}
	return nil
}

func short(h string) string {
	if h == "" {
		return `""`
	}
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

func requireChain(ctx context.Context, db *models.DB) error {
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read the schema version (is this a datashare database?): %w", err)
	}
	if v < ChainVersion {
		return fmt.Errorf("the database is at schema version %d; its history carries hashes from version %d on: run datashare migrate on it first", v, ChainVersion)
	}
	return nil
}

// Record is one history row as Export writes it: the fields of the
// canonical form (models.HistoryHash) as they are hashed, at in
// models.HistoryTimeLayout, and the row's id.
type Record struct {
	ID        int64   `json:"id"`
	RequestID int64   `json:"request_id"`
	Action    string  `json:"action"`
	FromState *string `json:"from_state"`
	ToState   string  `json:"to_state"`
	ActorID   *int64  `json:"actor_id"`
	At        string  `json:"at"`
	Comment   string  `json:"comment"`
	PrevHash  string  `json:"prev_hash"`
	Hash      string  `json:"hash"`
}

// Export writes, as one JSON object per line in id order, the history rows
// whose instant is at or after from and before to (a zero bound is open),
// and returns how many it wrote.
func Export(ctx context.Context, db *models.DB, from, to time.Time, w io.Writer) (int, error) {
	if err := requireChain(ctx, db); err != nil {
		return 0, err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := 0
	var after int64
	for {
		q := db.Gorm.WithContext(ctx).Where("id > ?", after).Order("id").Limit(page)
		if !from.IsZero() {
			q = q.Where("at >= ?", from.UTC())
		}
		if !to.IsZero() {
			q = q.Where("at < ?", to.UTC())
		}
		var rows []models.Transition
		if err := q.Find(&rows).Error; err != nil {
			return n, fmt.Errorf("read history: %w", err)
		}
		if len(rows) == 0 {
			return n, nil
		}
		for _, t := range rows {
			if err := enc.Encode(RecordOf(t)); err != nil {
				return n, fmt.Errorf("write history: %w", err)
			}
			n++
			after = t.ID
		}
	}
}

// RecordOf converts a stored row to its exported form.
func RecordOf(t models.Transition) Record {
	return Record{
		ID: t.ID, RequestID: t.RequestID, Action: t.Action, FromState: t.FromState, ToState: t.ToState,
		ActorID: t.ActorID, At: t.At.UTC().Truncate(time.Microsecond).Format(models.HistoryTimeLayout),
		Comment: t.Comment, PrevHash: t.PrevHash, Hash: t.Hash,
	}
}
