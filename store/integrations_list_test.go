package store

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// listFixture is a user with one integration in each status, plus one of another user's.
func listFixture(t *testing.T, db testDB) (*Store, int64, map[string]Integration) {
	t.Helper()
	s, owner, other := twoUsers(t, db)
	ctx := t.Context()
	now := time.Now().UTC()
	add := func(user int64, name, schema string) Integration {
		in, _, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: user, Name: name, Source: "vero", Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	ins := map[string]Integration{
		"recent":  add(owner, "Orders 100% live", "orders_live"),
		"older":   add(owner, "Billing", "stripe_billing"),
		"failing": add(owner, "Zulu Mandrill", "zulu_mandrill"),
		"paused":  add(owner, "Paused Vero", "paused_vero"),
		"waiting": add(owner, "alpha new", "alpha_new"),
		"loaded":  add(owner, "Loaded Only", "loaded_only"), // a batch, no last_event_at yet
	}
	theirs := add(other, "Orders of someone else", "their_orders")
	exec("UPDATE integrations SET last_event_at = ? WHERE id = ?", formatTime(now.Add(-time.Minute)), ins["recent"].ID)
	exec("UPDATE integrations SET last_event_at = ? WHERE id = ?", formatTime(now.Add(-5*time.Hour)), ins["older"].ID)
	exec("UPDATE integrations SET last_event_at = ? WHERE id IN (?, ?)", formatTime(now.Add(-48*time.Hour)), ins["failing"].ID, theirs.ID)
	exec("UPDATE integrations SET paused_at = ?, last_event_at = ? WHERE id = ?", formatTime(now), formatTime(now), ins["paused"].ID)
	exec("INSERT INTO hourly_activity (integration_id, hour, rows, requests, errors) VALUES (?, ?, 5, 6, 1), (?, ?, 3, 3, 0), (?, ?, 0, 2, 2), (?, ?, 0, 2, 2)",
		ins["failing"].ID, hourOf(now), ins["recent"].ID, hourOf(now),
		ins["older"].ID, hourOf(now.Add(-3*time.Hour)), // errors long ago: not failing now
		theirs.ID, hourOf(now))
	exec(`INSERT INTO load_reports (integration_id, committed_at, duration_us, records, rejected, rows_by_table, columns_added)
		VALUES (?, ?, 10, 4, 0, '{"data":4}', '[]'), (?, ?, 10, 3, 0, '{"data":3}', '[]'), (?, ?, 10, 0, 1, '{}', '[]')`,
		ins["loaded"].ID, formatTime(now), ins["recent"].ID, formatTime(now.Add(-time.Minute)), ins["recent"].ID, formatTime(now))
	return s, owner, ins
}

func names(l IntegrationList) string {
	var out []string
	for _, in := range l.Integrations {
		out = append(out, in.Name+":"+string(in.Status))
	}
	return strings.Join(out, ", ")
}

func TestListIntegrationsOrdersFiltersSearchesAndPages(t *testing.T) {
	eachDB(t, testListIntegrationsOrdersFiltersSearchesAndPages)
}

func testListIntegrationsOrdersFiltersSearchesAndPages(t *testing.T, db testDB) {
	s, owner, _ := listFixture(t, db)
	ctx := t.Context()
	list := func(q IntegrationQuery) IntegrationList {
		t.Helper()
		l, err := s.ListIntegrations(ctx, owner, q)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	// Errors first, then the most recent activity, then by name; nobody else's.
	all := list(IntegrationQuery{Limit: 50})
	want := "Zulu Mandrill:errors, Paused Vero:paused, Orders 100% live:active, Billing:active, alpha new:waiting, Loaded Only:active"
	if got := names(all); got != want {
		t.Fatalf("list order:\n got %s\nwant %s", got, want)
	}
	if all.Total != 6 || fmt.Sprint(all.Counts) != "map[active:3 errors:1 paused:1 waiting:1]" {
		t.Fatalf("total %d, counts %v", all.Total, all.Counts)
	}

	for _, tc := range []struct {
		q    IntegrationQuery
		want string
	}{
		{IntegrationQuery{Status: StatusErrors}, "Zulu Mandrill:errors"},
		{IntegrationQuery{Status: StatusWaiting}, "alpha new:waiting"},
		{IntegrationQuery{Status: StatusPaused}, "Paused Vero:paused"},
		{IntegrationQuery{Status: StatusActive}, "Orders 100% live:active, Billing:active, Loaded Only:active"},
		{IntegrationQuery{Search: "ORDERS"}, "Orders 100% live:active"},   // name, any case, not the other user's
		{IntegrationQuery{Search: "stripe"}, "Billing:active"},            // schema
		{IntegrationQuery{Search: "100%"}, "Orders 100% live:active"},     // % is a character, not a wildcard
		{IntegrationQuery{Search: "a_n"}, "alpha new:waiting"},            // _ too: only alpha_new has "a_n"
		{IntegrationQuery{Search: "  mandrill "}, "Zulu Mandrill:errors"}, // trimmed
		{IntegrationQuery{Search: "vero", Status: StatusActive}, ""},      // both apply
		{IntegrationQuery{Limit: 2, Offset: 2}, "Orders 100% live:active, Billing:active"},
		{IntegrationQuery{Limit: 2, Offset: 6}, ""},
	} {
		if got := names(list(tc.q)); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.q, got, tc.want)
		}
	}
	if l := list(IntegrationQuery{Search: "orders", Status: StatusActive, Limit: 1}); l.Total != 1 || l.Counts[StatusActive] != 1 {
		t.Errorf("search total %d, counts %v", l.Total, l.Counts)
	}
}

func TestActivityOfReadsOnlyTheGivenIntegrations(t *testing.T) {
	eachDB(t, testActivityOfReadsOnlyTheGivenIntegrations)
}

func testActivityOfReadsOnlyTheGivenIntegrations(t *testing.T, db testDB) {
	s, owner, ins := listFixture(t, db)
	ctx := t.Context()
	got, err := s.ActivityOf(ctx, owner, []int64{ins["recent"].ID, ins["failing"].ID, ins["loaded"].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("activity of %d integrations, want the 3 asked for: %v", len(got), got)
	}
	if a := got[ins["loaded"].ID]; a == nil || a.LastTable != "data" || a.LastRowsAt.IsZero() || a.RequestsLastHour != 0 {
		t.Errorf("loaded: %+v", a)
	}
	if a := got[ins["recent"].ID]; a.RowsToday != 3 || a.LastTable != "data" || a.LastRowsAt.IsZero() {
		t.Errorf("recent: %+v", a)
	}
	if a := got[ins["failing"].ID]; a.ErrorsLastHour != 1 || a.RequestsLastHour != 6 {
		t.Errorf("failing: %+v", a)
	}
	// Another user's id gives nothing; no ids, no queries and nothing.
	theirs, err := s.ActivityOf(ctx, owner, []int64{7})
	if err != nil || len(theirs) != 0 {
		t.Errorf("another user's integration: %v %v", theirs, err)
	}
	if none, err := s.ActivityOf(ctx, owner, nil); err != nil || len(none) != 0 {
		t.Errorf("no ids: %v %v", none, err)
	}
}

// The list reads indexes: failing integrations through the partial index on hours with
// errors, counts and pages through integrations_list_idx, in its order (no sorting).
func TestListIntegrationsUsesItsIndexes(t *testing.T) {
	s, owner, _ := listFixture(t, sqliteDB(t)) // SQLite's plans; PostgreSQL's planner chooses by statistics
	plan := func(query string, args ...any) string { t.Helper(); return queryPlan(t, s, query, args...) }
	counts := plan(s.countListQuery(), "2026-01-01T00", owner, "")
	if !strings.Contains(counts, "hourly_activity_errors_idx") || !strings.Contains(counts, "COVERING INDEX integrations_list_idx") {
		t.Errorf("counting by status:\n%s", counts)
	}
	page := plan(s.restOfListQuery(), "2026-01-01T00", owner, "", "", 50, 0)
	if !strings.Contains(page, "USING INDEX integrations_list_idx") || strings.Contains(page, "TEMP B-TREE") {
		t.Errorf("a page:\n%s", page)
	}
}
