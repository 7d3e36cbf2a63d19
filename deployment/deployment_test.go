package deployment_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"datashare/deployment"
	"datashare/models"
	"datashare/models/modelstest"
)

func TestRecordAndCompare(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
		first := []deployment.Setting{{Name: "DATASHARE_SLA_TARGET_DAYS", Value: "3"}, {Name: "DATASHARE_TZ", Value: "Asia/Singapore"}}

		// A database no service has started on compares with nothing.
		if diffs, err := deployment.Compare(ctx, db, first); err != nil || diffs != nil {
			t.Fatalf("before any start: got %v, %v; want no difference", diffs, err)
		}
		if diffs, err := deployment.Record(ctx, db, now, first); err != nil || diffs != nil {
			t.Fatalf("first start: got %v, %v; want no difference", diffs, err)
		}

		cases := []struct {
			name  string
			given []deployment.Setting
			want  []deployment.Difference
		}{
			{"the same settings", first, nil},
			{"another target", []deployment.Setting{{Name: "DATASHARE_SLA_TARGET_DAYS", Value: "7"}, {Name: "DATASHARE_TZ", Value: "Asia/Singapore"}},
				[]deployment.Difference{{Name: "DATASHARE_SLA_TARGET_DAYS", Stored: "3", Given: "7"}}},
			{"a setting never stored", []deployment.Setting{{Name: "DATASHARE_SLA_WARN_DAYS", Value: "5"}}, nil},
		}
		for _, c := range cases {
			got, err := deployment.Compare(ctx, db, c.given)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}

		// A later start with other settings replaces them and says what changed.
		second := []deployment.Setting{{Name: "DATASHARE_SLA_TARGET_DAYS", Value: "7"}, {Name: "DATASHARE_TZ", Value: "Asia/Singapore"}}
		diffs, err := deployment.Record(ctx, db, now.Add(time.Hour), second)
		if err != nil {
			t.Fatal(err)
		}
		if want := []deployment.Difference{{Name: "DATASHARE_SLA_TARGET_DAYS", Stored: "3", Given: "7"}}; !reflect.DeepEqual(diffs, want) {
			t.Errorf("second start: got %v, want %v", diffs, want)
		}
		if diffs, err := deployment.Compare(ctx, db, second); err != nil || diffs != nil {
			t.Errorf("after the second start: got %v, %v; want no difference", diffs, err)
		}
	})
}
