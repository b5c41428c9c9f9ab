package store

import (
	"context"
	"encoding/json"
	"strings"
)

// IntegrationStatus is the one status an integration is in, as the integrations list filters
// it. The order of precedence is the dashboard's: paused, then errors, then waiting.
type IntegrationStatus string

// Integration statuses; StatusAny lists them all.
const (
	StatusAny     IntegrationStatus = ""
	StatusErrors  IntegrationStatus = "errors"  // requests refused in the last hour
	StatusWaiting IntegrationStatus = "waiting" // nothing has arrived yet
	StatusPaused  IntegrationStatus = "paused"
	StatusActive  IntegrationStatus = "active"
)

// IntegrationStatuses are the statuses in the order the list's filter offers them.
var IntegrationStatuses = []IntegrationStatus{StatusErrors, StatusWaiting, StatusPaused, StatusActive}

// MaxListPageSize bounds one page of the integrations list.
const MaxListPageSize = 200

// IntegrationQuery picks a page of a user's integrations.
type IntegrationQuery struct {
	Search string            // part of the name or the schema, any letter case; "" for all
	Status IntegrationStatus // StatusAny for all
	Offset int               // integrations to skip, in list order
	Limit  int               // page size, at most MaxListPageSize
}

// IntegrationList is one page of the integrations list.
type IntegrationList struct {
	Integrations []ListedIntegration
	Total        int                       // integrations matching Search and Status
	Counts       map[IntegrationStatus]int // integrations matching Search, by status
}

// ListedIntegration is an integration with the status it is listed under.
type ListedIntegration struct {
	Integration
	Status IntegrationStatus
}

// listedIntegrations is the user's integrations matching a search, each with its status, as
// a common table expression. ?1 is the start of the error window (an hourly_activity hour),
// ?2 the user, ?3 the LIKE pattern ("" for all). Integrations with errors are found through
// the partial index on hours with errors, once, not one lookup per integration.
const listedIntegrations = `WITH failing(id) AS (
		SELECT integration_id FROM hourly_activity WHERE errors > 0 AND hour >= ?1
	), listed AS (
		SELECT i.*, CASE
			WHEN i.paused_at IS NOT NULL THEN 'paused'
			WHEN i.id IN (SELECT id FROM failing) THEN 'errors'
			WHEN i.last_event_at IS NULL AND NOT EXISTS (
				SELECT 1 FROM load_reports r WHERE r.integration_id = i.id AND r.records > 0) THEN 'waiting'
			ELSE 'active' END AS status
		FROM integrations i
		WHERE i.user_id = ?2 AND (?3 = '' OR i.name LIKE ?3 ESCAPE '\' OR i.schema_name LIKE ?3 ESCAPE '\')
	)`

// ListIntegrations returns one page of the user's integrations: those with errors first, then
// the most recently active, then by name. Search, filter, order and paging all happen in
// SQLite, so a page of 50 out of thousands reads no more than it shows, plus two passes over
// the user's (short) integration rows.
func (s *Store) ListIntegrations(ctx context.Context, userID int64, q IntegrationQuery) (IntegrationList, error) {
	window := hourOf(errorWindowStart(s.now()))
	pattern := likePattern(q.Search)
	out := IntegrationList{Counts: map[IntegrationStatus]int{}}

	rows, err := s.read.QueryContext(ctx, listedIntegrations+`SELECT status, COUNT(*) FROM listed GROUP BY status`,
		window, userID, pattern)
	if err != nil {
		return IntegrationList{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var st IntegrationStatus
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return IntegrationList{}, err
		}
		out.Counts[st] = n
		if q.Status == StatusAny || q.Status == st {
			out.Total += n
		}
	}
	if err := rows.Err(); err != nil {
		return IntegrationList{}, err
	}
	rows.Close()

	limit := q.Limit
	if limit <= 0 || limit > MaxListPageSize {
		limit = MaxListPageSize
	}
	rows, err = s.read.QueryContext(ctx, listedIntegrations+`SELECT `+integrationColumns+`, status FROM listed
		WHERE ?4 = '' OR status = ?4
		ORDER BY status = 'errors' DESC, last_event_at IS NULL, last_event_at DESC, name COLLATE NOCASE, id
		LIMIT ?5 OFFSET ?6`, window, userID, pattern, string(q.Status), limit, max(q.Offset, 0))
	if err != nil {
		return IntegrationList{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var li ListedIntegration
		var paused, lastEvent *string
		var created string
		if err := rows.Scan(&li.ID, &li.UserID, &li.Name, &li.Source, &li.Schema, &li.PrimaryKey, &paused, &created, &lastEvent, &li.Status); err != nil {
			return IntegrationList{}, err
		}
		li.Paused = paused != nil
		li.CreatedAt = parseTime(created)
		if lastEvent != nil {
			li.LastEventAt = parseTime(*lastEvent)
		}
		out.Integrations = append(out.Integrations, li)
	}
	return out, rows.Err()
}

// ActivityOf returns the recent traffic of the user's integrations in ids (the ones a page
// shows), by integration id, in two queries whatever their number.
func (s *Store) ActivityOf(ctx context.Context, userID int64, ids []int64) (map[int64]*Activity, error) {
	if ids == nil {
		ids = []int64{}
	}
	return s.activity(ctx, userID, ids)
}

// idList passes a list of ids as one parameter, for json_each: one statement for any count.
func idList(ids []int64) (string, error) {
	b, err := json.Marshal(ids)
	return string(b), err
}

// likePattern turns a search into a LIKE pattern matching it anywhere, its own % and _
// taken literally; "" stays "" (no search).
func likePattern(search string) string {
	search = strings.TrimSpace(search)
	if search == "" {
		return ""
	}
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(search) + "%"
}
