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

// A password is at least 12 characters, not bytes, and at most the 72
// bytes bcrypt reads; signing in works only with the password set.
func TestPasswordLengthAndSignIn(t *testing.T) {
	ctx := context.Background()
	db := modelstest.MustOpen(t, models.SQLite)
	s := accounts.NewService(db, func() time.Time { return time.Now().UTC() })
	if err := s.EnsureAgency(ctx, "MSF", "MSF"); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUserUnchecked(ctx, accounts.NewUser{Email: "req@msf.gov.sg", Name: "R", Agency: "MSF", Roles: []string{"requester"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, password string
		ok             bool
	}{
		{"eleven characters", "abcdefghijk", false},
		{"twelve characters of two bytes each", strings.Repeat("ä", 12), true},
		{"eleven characters of two bytes each (22 bytes)", strings.Repeat("ä", 11), false},
		{"72 bytes", strings.Repeat("a", 72), true},
		{"73 bytes", strings.Repeat("a", 73), false},
	} {
		err := s.SetPasswordsUnchecked(ctx, []int64{u.ID}, tc.password)
		if got := err == nil; got != tc.ok {
			t.Errorf("%s: accepted %v (%v), want %v", tc.name, got, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		if _, err := s.SignIn(ctx, "REQ@msf.gov.sg", tc.password, "192.0.2.1"); err != nil {
			t.Errorf("%s: sign in with it: %v", tc.name, err)
		}
		if _, err := s.SignIn(ctx, "req@msf.gov.sg", tc.password+"x", "192.0.2.1"); err != accounts.ErrSignIn {
			t.Errorf("%s: sign in with another password: got %v, want ErrSignIn", tc.name, err)
		}
	}
	if _, err := s.SignIn(ctx, "nobody@msf.gov.sg", strings.Repeat("a", 72), "192.0.2.1"); err != accounts.ErrSignIn {
		t.Errorf("unknown email: got %v, want the same ErrSignIn", err)
	}
}

// Every demo start issues a token per demo user; the earlier demo tokens
// must stop working, and no other token may.
func TestIssueDemoTokenRevokesEarlierDemoTokensOnly(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		s := accounts.NewService(db, func() time.Time { return time.Now().UTC() })
		if err := s.EnsureAgency(ctx, "MSF", "MSF"); err != nil {
			t.Fatal(err)
		}
		var users []models.User
		for _, email := range []string{"a@msf.gov.sg", "b@msf.gov.sg"} {
			u, err := s.CreateUserUnchecked(ctx, accounts.NewUser{Email: email, Name: email, Agency: "MSF", Roles: []string{"requester"}})
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, u)
		}
		a, b := users[0], users[1]
		_, laptop, err := s.IssueToken(ctx, accounts.ActorOf(a), a.ID, "laptop", nil)
		if err != nil {
			t.Fatal(err)
		}
		first, err := s.IssueDemoToken(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.IssueDemoToken(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.IssueDemoToken(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, secret string
			want         int64 // owner, 0 when revoked
		}{
			{"a's first demo token", first, 0},
			{"a's second demo token", second, a.ID},
			{"a's token named laptop", laptop, a.ID},
			{"b's demo token", other, b.ID},
		} {
			u, err := s.Authenticate(ctx, tc.secret)
			if got := u.ID; err != nil && tc.want != 0 || err == nil && got != tc.want {
				t.Errorf("%s: got user %d (%v), want user %d", tc.name, got, err, tc.want)
			}
		}
		toks, err := s.Tokens(ctx, accounts.ActorOf(a), a.ID)
		if err != nil || len(toks) != 2 {
			t.Errorf("a's tokens: got %d (%v), want 2: laptop and the newest demo token", len(toks), err)
		}
		n, err := s.RevokeTokensNamed(ctx, a.ID, accounts.DemoTokenName)
		if err != nil || n != 1 {
			t.Errorf("RevokeTokensNamed demo: got %d (%v), want 1", n, err)
		}
		if _, err := s.Authenticate(ctx, second); err == nil {
			t.Errorf("a's second demo token still works after RevokeTokensNamed")
		}
	})
}
