package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/holidays"
	"datashare/models"
	"datashare/models/modelstest"
)

func TestICalendarImportRefusesFilesPastItsBounds(t *testing.T) {
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	event := func(lines ...string) string {
		return "BEGIN:VEVENT\r\nUID:1@x\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VEVENT\r\n"
	}
	cal := func(events ...string) string {
		return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + strings.Join(events, "") + "END:VCALENDAR\r\n"
	}
	tests := []struct {
		name, file, want string
	}{
		{"40,000 parameters on a line", cal(event("DTSTART"+strings.Repeat(";X=1", 40_000)+";VALUE=DATE:20270104", "SUMMARY:x")), "more than 16 parameters"},
		{"larger than 1 MiB", cal(event("DTSTART;VALUE=DATE:20270104", "SUMMARY:x", strings.Repeat("X-A:"+strings.Repeat("b", 1000)+"\r\n", 1100))), "larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.postICS(t, "admin", "text/calendar", tt.file)
			code, field := r.errCode(t)
			if r.Status != http.StatusUnprocessableEntity || code != "invalid" || field != "file" || !strings.Contains(string(r.Body), tt.want) {
				t.Fatalf("got %d %s, want 422 invalid of field file saying %q", r.Status, r.Body, tt.want)
			}
		})
	}
}

// A large import commits in short transactions, so that the writes of
// users go through meanwhile instead of failing or waiting for all of it.
func TestWritesSucceedWhileALargeICalendarImportRuns(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		file := apptest.ClosuresICS(holidays.MaxICSBytes)
		done := make(chan resp, 1)
		go func() { done <- e.postICS(t, "admin", "text/calendar", file) }()
		writes := 0
		var failures []string
		for running := true; running; {
			select {
			case r := <-done:
				running = false
				if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"imported":`) {
					t.Fatalf("import: got %d %s, want 200", r.Status, r.Body)
				}
			default:
			}
			for _, rq := range []request{
				{method: "PUT", path: "/api/v1/me/preferences", token: "MOH.requester", body: map[string]any{"email": map[string]bool{"request.approved": writes%2 == 0}}},
				{method: "POST", path: "/api/v1/notifications/read-all", token: "MOH.requester"},
				{method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: newRequestBody("official-open", "HDB")},
			} {
				if r := e.do(t, rq); r.Status >= 300 {
					failures = append(failures, rq.method+" "+rq.path+": "+string(r.Body))
				}
				writes++
			}
		}
		if len(failures) > 0 {
			t.Fatalf("%d of %d writes during the import failed, first: %s", len(failures), writes, failures[0])
		}
		var n int64
		db.Gorm.Raw("SELECT COUNT(*) FROM holidays WHERE source = 'import'").Scan(&n)
		if n < 50_000 {
			t.Fatalf("imported days: got %d, want the file's ~75,000", n)
		}
	})
}

// BenchmarkWriteWaitDuringICalendarImport imports the 1 MiB file while a
// user saves preferences in a loop, and reports the longest a save took
// (max-write-ms) beside the import's own time.
func BenchmarkWriteWaitDuringICalendarImport(b *testing.B) {
	file := apptest.ClosuresICS(holidays.MaxICSBytes)
	var worst time.Duration
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, modelstest.MustOpen(b, models.SQLite))
		b.StartTimer()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				r := e.do(b, request{method: "PUT", path: "/api/v1/me/preferences", token: "MOH.requester",
					body: map[string]any{"email": map[string]bool{"request.approved": i%2 == 0}}})
				if r.Status != http.StatusOK {
					b.Errorf("preferences during import: got %d %s", r.Status, r.Body)
					return
				}
				worst = max(worst, time.Since(start))
				time.Sleep(5 * time.Millisecond)
			}
		}()
		if r := e.postICS(b, "admin", "text/calendar", file); r.Status != http.StatusOK {
			b.Fatalf("import: got %d %s", r.Status, r.Body)
		}
		close(stop)
		wg.Wait()
	}
	b.ReportMetric(float64(worst.Milliseconds()), "max-write-ms")
}

func TestRequestImportTakesCSVAndRefusesBadRecordsOneByOne(t *testing.T) {
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	head := "external_ref,title,purpose,data_description,classification,requesting_agency,owner_agency,requester_email,action,at,actor_email,comment\n"
	row := func(ref, action, at, actor string) string {
		return ref + ",Blocks,Outreach,Counts,official-open,MOH,HDB,moh.requester@gov.sg," + action + "," + at + "," + actor + ",\n"
	}
	body := head +
		row("CSV-1", "submit", "2025-03-03T10:00:00+08:00", "moh.requester@gov.sg") +
		row("CSV-1", "approve", "2025-03-05T15:30:00+08:00", "hdb.approver@gov.sg") +
		row("CSV-2", "submit", "last week", "moh.requester@gov.sg") +
		row("CSV-3", "submit", "2025-03-04T10:00:00+08:00", "moh.requester@gov.sg")
	r := e.do(t, request{method: "POST", path: "/api/v1/admin/import", token: "admin", body: body,
		header: map[string]string{"Content-Type": "text/csv"}})
	var res struct {
		Imported int
		Errors   []struct {
			ExternalRef string `json:"external_ref"`
			Message     string
		}
	}
	r.decode(t, &res)
	if r.Status != http.StatusOK || res.Imported != 2 || len(res.Errors) != 1 || res.Errors[0].ExternalRef != "CSV-2" ||
		!strings.Contains(res.Errors[0].Message, "RFC 3339") {
		t.Fatalf("got %d %s, want 200 with CSV-1 and CSV-3 imported and CSV-2 refused for its time", r.Status, r.Body)
	}
	r = e.do(t, request{method: "POST", path: "/api/v1/admin/import", token: "admin", body: "a,b\n",
		header: map[string]string{"Content-Type": "text/plain"}})
	if r.Status != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain: got %d %s, want 415", r.Status, r.Body)
	}
}
