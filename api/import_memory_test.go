package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"

	"datashare/imports"
	"datashare/models"
	"datashare/models/modelstest"
)

// maximalImport writes an import body of size bytes: records of about
// 1.6 KiB, one in a hundred of them importable, the others refused for an
// unknown requester, and the last a record of nearly 1 MiB.
func maximalImport(w io.Writer, size int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	n, _ := bw.WriteString(`{"requests":[`)
	written := n
	for i := 0; ; i++ {
		requester := "nobody@gov.sg"
		if i%100 == 0 {
			requester = "moh.requester@gov.sg"
		}
		comment := strings.Repeat("c", 1200)
		if written+2*imports.MaxRecordBytes > size {
			comment = strings.Repeat("c", imports.MaxRecordBytes-4096)
		}
		rec, _ := json.Marshal(imports.Record{
			ExternalRef: fmt.Sprintf("MAX-%d", i), Title: "Residents per block", Purpose: "Outreach", DataDescription: "Counts",
			Classification: "official-open", RequestingAgency: "MOH", OwnerAgency: "HDB", RequesterEmail: requester,
			Events: []imports.Event{{Action: "submit", At: quietStart.AddDate(0, 0, -30), ActorEmail: requester, Comment: comment}},
		})
		if i > 0 {
			bw.WriteByte(',')
		}
		n, _ := bw.Write(rec)
		written += n + 1
		if len(comment) > 1200 {
			break
		}
	}
	bw.WriteString("]}")
	return bw.Flush()
}

func peakRSS(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkConcurrentMaximalImports sends four imports of 16 MiB at once,
// each body written as it is sent, and reports the process's peak resident
// memory (peak-rss-MB: the service, its database and the clients).
func BenchmarkConcurrentMaximalImports(b *testing.B) {
	const size = 16 << 20
	var peak int64
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, modelstest.MustOpen(b, models.SQLite))
		runtime.GC()
		debug.FreeOSMemory()
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM
		b.StartTimer()
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pr, pw := io.Pipe()
				go func() { pw.CloseWithError(maximalImport(pw, size)) }()
				req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/admin/import", pr)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+e.tokens["admin"])
				res, err := e.srv.Client().Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				defer res.Body.Close()
				var out imports.Result
				if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK || out.Imported+out.Skipped == 0 {
					b.Errorf("import: got %d, %+v (%v), want 200 with records imported or skipped", res.StatusCode, out, err)
				}
			}()
		}
		wg.Wait()
		peak = max(peak, peakRSS(b))
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MB")
}
