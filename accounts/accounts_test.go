package accounts_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/models"
	"datashare/models/modelstest"
)

func TestBootstrapByTwoReplicasAtOnceCreatesOneAdmin(t *testing.T) {
	for _, d := range modelstest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			dsn := modelstest.DSN(t, d)
			clock := func() time.Time { return time.Now().UTC() }
			var svcs []*accounts.Service
			for range 2 {
				db, err := models.Open(dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if err := db.Migrate(context.Background(), nil); err != nil {
					t.Fatal(err)
				}
				svcs = append(svcs, accounts.NewService(db, clock))
			}
			token := strings.Repeat("t", 40)
			for round := range 5 {
				var wg sync.WaitGroup
				errs := make([]error, 2)
				created := make([]bool, 2)
				email := "admin" + string(rune('a'+round)) + "@govtech.gov.sg"
				for i, s := range svcs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						created[i], errs[i] = s.Bootstrap(context.Background(), email, token+string(rune('a'+round)))
					}()
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d replica %d: got error %v, want none", round, i, err)
					}
				}
				if round == 0 && created[0] == created[1] {
					t.Fatalf("round 0: created %v, want exactly one replica to create the admin", created)
				}
				if round > 0 && (created[0] || created[1]) {
					t.Fatalf("round %d: created %v, want none once an admin exists", round, created)
				}
			}
			u, err := svcs[0].Authenticate(context.Background(), token+"a")
			if err != nil || u.AgencyCode != accounts.BootstrapAgency || u.Roles != "admin" {
				t.Fatalf("bootstrap token: got %+v, %v; want the GOVTECH admin", u, err)
			}
		})
	}
}
