package models

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// HistoryFormat names the canonical form HistoryHash hashes; it is the
// first field of that form, so that a later form can never produce the
// hash of an earlier one.
const HistoryFormat = "datashare-history-v1"

// HistoryTimeLayout is how the canonical form writes a row's instant: UTC,
// always six fraction digits, the precision both databases keep.
const HistoryTimeLayout = "2006-01-02T15:04:05.000000Z"

// HistoryHash returns the hash of history row t chained to prev, the hash of
// the row before it in the same request's history ("" for the first row).
// It is the lowercase hex SHA-256 of the canonical form: the fields
//
//	HistoryFormat, request_id, action, from_state, to_state, actor_id, at, comment, prev
//
// each written as its length in bytes (decimal), a colon, its UTF-8 bytes
// and a newline. Ids are decimal; a missing from_state or actor is the empty
// string; at is written with HistoryTimeLayout, truncated to the
// microsecond. The row's own id is not hashed: it is assigned by the
// database on insert, and the chain already fixes the order of a request's
// rows. The README shows how to check the hash outside datashare.
func HistoryHash(t Transition, prev string) string {
	var from, actor string
	if t.FromState != nil {
		from = *t.FromState
	}
	if t.ActorID != nil {
		actor = strconv.FormatInt(*t.ActorID, 10)
	}
	h := sha256.New()
	for _, f := range []string{
		HistoryFormat,
		strconv.FormatInt(t.RequestID, 10),
		t.Action,
		from,
		t.ToState,
		actor,
		t.At.UTC().Truncate(time.Microsecond).Format(HistoryTimeLayout),
		t.Comment,
		prev,
	} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// historyBatch bounds the rows of one INSERT and the ids of one lookup,
// well under both databases' limits on bound parameters.
const historyBatch = 500

// AppendHistory writes rows, in order, to the history in the transaction
// tx, each chained to the row before it of the same request: the last one
// stored, or an earlier one of rows. It sets each row's At (truncated to
// the microsecond), PrevHash, Hash and ID. The caller must hold what keeps
// other writers off these requests' histories until tx ends: the request's
// row lock on PostgreSQL (SQLite has a single writer).
func AppendHistory(tx *gorm.DB, rows []Transition) error {
	if len(rows) == 0 {
		return nil
	}
	heads, err := historyHeads(tx, rows)
	if err != nil {
		return err
	}
	for i := range rows {
		t := &rows[i]
		t.At = t.At.UTC().Truncate(time.Microsecond)
		t.PrevHash = heads[t.RequestID]
		t.Hash = HistoryHash(*t, t.PrevHash)
		heads[t.RequestID] = t.Hash
	}
	if err := tx.Omit(clause.Associations).CreateInBatches(&rows, historyBatch).Error; err != nil {
		return fmt.Errorf("append history: %w", err)
	}
	return nil
}

// historyHeads returns the hash of the last stored history row of each
// request of rows; a request without history is missing from the map.
func historyHeads(tx *gorm.DB, rows []Transition) (map[int64]string, error) {
	seen := map[int64]bool{}
	var ids []int64
	for _, t := range rows {
		if !seen[t.RequestID] {
			seen[t.RequestID] = true
			ids = append(ids, t.RequestID)
		}
	}
	heads := make(map[int64]string, len(ids))
	for start := 0; start < len(ids); start += historyBatch {
		var got []struct {
			RequestID int64
			Hash      string
		}
		err := tx.Raw(`SELECT request_id, hash FROM transitions WHERE id IN
			(SELECT MAX(id) FROM transitions WHERE request_id IN ? GROUP BY request_id)`,
			ids[start:min(start+historyBatch, len(ids))]).Scan(&got).Error
		if err != nil {
			return nil, fmt.Errorf("read the last history rows: %w", err)
		}
		for _, g := range got {
			heads[g.RequestID] = g.Hash
		}
	}
	return heads, nil
}

// hashHistory is the step of migration 0011: it chains every stored row,
// request by request in id order, reading and updating in pages so that a
// large history is never held whole.
func hashHistory(tx *gorm.DB) error {
	const page = 2000
	var lastReq, lastID int64
	prev := ""
	for {
		var rows []Transition
		err := tx.Where("(request_id, id) > (?, ?)", lastReq, lastID).
			Order("request_id, id").Limit(page).Find(&rows).Error
		if err != nil {
			return fmt.Errorf("read history: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		for i := range rows {
			t := &rows[i]
			if t.RequestID != lastReq {
				prev = ""
			}
			t.PrevHash, t.Hash = prev, HistoryHash(*t, prev)
			prev, lastReq, lastID = t.Hash, t.RequestID, t.ID
		}
		for start := 0; start < len(rows); start += historyBatch {
			if err := setHashes(tx, rows[start:min(start+historyBatch, len(rows))]); err != nil {
				return err
			}
		}
	}
}

// setHashes writes the hashes of rows in one statement.
func setHashes(tx *gorm.DB, rows []Transition) error {
	q := "UPDATE transitions SET prev_hash = v.column2, hash = v.column3 FROM (VALUES "
	args := make([]any, 0, 3*len(rows))
	for i, t := range rows {
		if i > 0 {
			q += ", "
		}
		q += "(CAST(? AS BIGINT), ?, ?)"
		args = append(args, t.ID, t.PrevHash, t.Hash)
	}
	q += ") AS v WHERE transitions.id = v.column1"
	if err := tx.Exec(q, args...).Error; err != nil {
		return fmt.Errorf("write history hashes: %w", err)
	}
	return nil
}
