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
func IntegrationStatuses() []IntegrationStatus {
	return []IntegrationStatus{StatusErrors, StatusWaiting, StatusPaused, StatusActive}
}

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

// The integrations list's SQL. ?1 is the start of the error window (an hourly_activity
// hour), ?2 the user, ?3 the LIKE pattern ("" for all). Integrations with errors are found
// through the partial index on hours with errors, once, not one lookup per integration.
const (
	failingIntegrations = `WITH failing(id) AS (SELECT integration_id FROM hourly_activity WHERE errors > 0 AND hour >= ?1) `
	integrationStatus   = `CASE
		WHEN i.paused_at IS NOT NULL THEN 'paused'
		WHEN i.id IN (SELECT id FROM failing) THEN 'errors'
		WHEN i.last_event_at IS NULL AND NOT EXISTS (
			SELECT 1 FROM load_reports r WHERE r.integration_id = i.id AND r.records > 0) THEN 'waiting'
		ELSE 'active' END`
)

// StatusOf is the one status an integration is in, worst first: the rule integrationStatus
// applies in SQL, for a page that has the integration and its activity in hand.
func StatusOf(in Integration, a Activity) IntegrationStatus {
	switch {
	case in.Paused:
		return StatusPaused
	case a.ErrorsLastHour > 0:
		return StatusErrors
	case in.LastEventAt.IsZero() && a.LastRowsAt.IsZero():
		return StatusWaiting
	default:
		return StatusActive
	}
}

// integrationSearch matches the user's integrations whose name or schema is like ?3.
func (s *Store) integrationSearch() string {
	like := s.d.like()
	return `i.user_id = ?2 AND (?3 = '' OR i.name ` + like + ` ?3 ESCAPE '\' OR i.schema_name ` + like + ` ?3 ESCAPE '\')`
}

// listOrder is integrations_list_idx's order.
func (s *Store) listOrder() string {
	return `ORDER BY i.last_event_at DESC` + s.d.nullsLast() + `, ` + s.d.nameOrder("i.name") + `, i.schema_name`
}

// ListIntegrations returns one page of the user's integrations: those with errors first, then
// the most recently active, then by name. Search, filter, order and paging happen in SQLite,
// in at most three queries: counting by status reads integrations_list_idx once; the page
// takes the failing integrations (few) and then walks that index only as far as the page.
func (s *Store) ListIntegrations(ctx context.Context, userID int64, q IntegrationQuery) (IntegrationList, error) {
	window := hourOf(errorWindowStart(s.now()))
	pattern := likePattern(q.Search)
	limit := q.Limit
	if limit <= 0 || limit > MaxListPageSize {
		limit = MaxListPageSize
	}
	offset := max(q.Offset, 0)
	out := IntegrationList{Counts: map[IntegrationStatus]int{}}

	var counts [4]int // in the order of IntegrationStatuses
	if err := s.read.QueryRowContext(ctx, s.countListQuery(), window, userID, pattern).
		Scan(&counts[0], &counts[1], &counts[2], &counts[3]); err != nil {
		return IntegrationList{}, err
	}
	for i, st := range IntegrationStatuses() {
		if counts[i] > 0 {
			out.Counts[st] = counts[i]
		}
		if q.Status == StatusAny || q.Status == st {
			out.Total += counts[i]
		}
	}

	// The failing ones come first, so they fill the first places of the list.
	failing := 0
	if q.Status == StatusAny || q.Status == StatusErrors {
		failing = out.Counts[StatusErrors]
	}
	if offset < failing {
		page, err := s.listedPage(ctx, failingIntegrations+`SELECT `+integrationColumns+`, 'errors' FROM integrations i
			WHERE `+s.integrationSearch()+` AND i.paused_at IS NULL AND i.id IN (SELECT id FROM failing)
			`+s.listOrder()+` LIMIT ?4 OFFSET ?5`, window, userID, pattern, limit, offset)
		if err != nil {
			return IntegrationList{}, err
		}
		out.Integrations = page
	}
	if q.Status == StatusErrors || len(out.Integrations) >= limit {
		return out, nil
	}
	page, err := s.listedPage(ctx, s.restOfListQuery(),
		window, userID, pattern, string(q.Status), limit-len(out.Integrations), max(offset-failing, 0))
	if err != nil {
		return IntegrationList{}, err
	}
	out.Integrations = append(out.Integrations, page...)
	return out, nil
}

// countListQuery counts the search's matches by status, in IntegrationStatuses' order.
func (s *Store) countListQuery() string {
	return failingIntegrations + `SELECT COUNT(CASE WHEN status = 'errors' THEN 1 END), COUNT(CASE WHEN status = 'waiting' THEN 1 END),
		COUNT(CASE WHEN status = 'paused' THEN 1 END), COUNT(CASE WHEN status = 'active' THEN 1 END)
		FROM (SELECT ` + integrationStatus + ` AS status FROM integrations i WHERE ` + s.integrationSearch() + `) AS listed`
}

// restOfListQuery is the list after the failing integrations, with a status filter (?4).
func (s *Store) restOfListQuery() string {
	return failingIntegrations + `SELECT ` + integrationColumns + `, ` + integrationStatus + ` FROM integrations i
		WHERE ` + s.integrationSearch() + ` AND NOT (i.paused_at IS NULL AND i.id IN (SELECT id FROM failing))
		AND (?4 = '' OR ` + integrationStatus + ` = ?4) ` + s.listOrder() + ` LIMIT ?5 OFFSET ?6`
}

// listedPage runs a query for integrationColumns and a status.
func (s *Store) listedPage(ctx context.Context, query string, args ...any) ([]ListedIntegration, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []ListedIntegration
	for rows.Next() {
		var li ListedIntegration
		var paused, lastEvent *string
		var created string
		if err := rows.Scan(&li.ID, &li.UserID, &li.Name, &li.Source, &li.Schema, &li.PrimaryKey, &paused, &created, &lastEvent, &li.Status); err != nil {
			return nil, err
		}
		li.Paused = paused != nil
		li.CreatedAt = parseTime(created)
		if lastEvent != nil {
			li.LastEventAt = parseTime(*lastEvent)
		}
		list = append(list, li)
	}
	return list, rows.Err()
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
