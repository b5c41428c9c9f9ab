package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxPageSize bounds how many log lines one page of Extraction Logs or Loading Reports holds.
const MaxPageSize = 200

// Activity is an integration's recent traffic, as the overview shows it.
type Activity struct {
	HourlyRows       [24]int   // rows loaded per hour, oldest first; the last is the current hour
	RowsToday        int       // since midnight UTC
	RequestsLastHour int       // in the current and the previous clock hour
	ErrorsLastHour   int       // refusals that are errors (not a paused integration's 503s)
	RefusedLastHour  int       // every refusal, a paused integration's 503s included
	RevokedLastDay   int       // requests to a revoked URL in the 24 hours of HourlyRows
	LastRowsAt       time.Time // commit time of the last batch that loaded rows; zero if none is kept
	LastTable        string    // the last table a batch loaded rows into
}

// LogFilter picks the Extraction Logs to list: by result, or by the status answered.
type LogFilter struct {
	Result string // "" for all, LogAccepted or LogRefused
	Status int    // only requests answered with this status; 0 for any
}

// Results LogFilter may ask for.
const (
	LogAccepted = "accepted"
	LogRefused  = "refused"
)

// ExtractionLogs returns up to limit of an integration's logged webhook requests that pass
// the filter, newest first, with ids below before (0: from the newest). Bodies are left out;
// see ExtractionLog. Another user's integration is ErrNotFound. Each filter walks an index
// (migrations 0003 and 0008) from before and stops at the page's last row.
func (s *Store) ExtractionLogs(ctx context.Context, userID, integrationID int64, f LogFilter, before int64, limit int) ([]WebhookRequest, error) {
	if err := s.owns(ctx, userID, integrationID); err != nil {
		return nil, err
	}
	query, args := extractionLogsQuery(integrationID, f, before, limit)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []WebhookRequest
	for rows.Next() {
		var r WebhookRequest
		var received string
		if err := rows.Scan(&r.ID, &r.IntegrationID, &received, &r.Status, &r.Error, &r.Records, &r.Rejected, &r.Bytes,
			&r.ContentType, &r.IP, &r.UserAgent, &r.BodyTruncated); err != nil {
			return nil, err
		}
		r.ReceivedAt = parseTime(received)
		list = append(list, r)
	}
	return list, rows.Err()
}

// extractionLogsQuery is ExtractionLogs' SQL. The id bound is always there (the largest id
// for the newest page), so each form is a plain range of its index.
func extractionLogsQuery(integrationID int64, f LogFilter, before int64, limit int) (string, []any) {
	if before <= 0 {
		before = math.MaxInt64
	}
	where, args := "integration_id = ?", []any{integrationID}
	switch {
	case f.Status != 0:
		where, args = where+" AND status = ?", append(args, f.Status)
	case f.Result == LogAccepted:
		where += " AND (status >= 300) = FALSE"
	case f.Result == LogRefused:
		where += " AND (status >= 300) = TRUE"
	}
	return `SELECT id, integration_id, received_at, status, error, records, rejected, bytes,
			content_type, ip, user_agent, body_truncated
		FROM webhook_requests WHERE ` + where + ` AND id < ? ORDER BY id DESC LIMIT ?`, append(args, before, pageSize(limit))
}

// ExtractionLog returns one logged request with its (capped) body.
func (s *Store) ExtractionLog(ctx context.Context, userID, integrationID, id int64) (WebhookRequest, error) {
	var r WebhookRequest
	var received string
	err := s.read.QueryRowContext(ctx, `SELECT r.id, r.integration_id, r.received_at, r.status, r.error, r.records, r.rejected,
			r.bytes, r.content_type, r.ip, r.user_agent, r.body, r.body_truncated
		FROM webhook_requests r JOIN integrations i ON i.id = r.integration_id
		WHERE r.id = ? AND r.integration_id = ? AND i.user_id = ?`, id, integrationID, userID).
		Scan(&r.ID, &r.IntegrationID, &received, &r.Status, &r.Error, &r.Records, &r.Rejected,
			&r.Bytes, &r.ContentType, &r.IP, &r.UserAgent, &r.Body, &r.BodyTruncated)
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookRequest{}, ErrNotFound
	}
	r.ReceivedAt = parseTime(received)
	return r, err
}

// LoadReports returns up to limit of an integration's committed batches, newest first, with
// ids below before (0: from the newest).
func (s *Store) LoadReports(ctx context.Context, userID, integrationID, before int64, limit int) ([]LoadReport, error) {
	if err := s.owns(ctx, userID, integrationID); err != nil {
		return nil, err
	}
	if before == 0 {
		// (Not "? = 0 OR": PostgreSQL typed that parameter int4, and a cursor beyond it was a 500.)
		before = math.MaxInt64
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, committed_at, duration_us, records, rejected, rows_by_table, columns_added
		FROM load_reports WHERE integration_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
		integrationID, before, pageSize(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []LoadReport
	for rows.Next() {
		var r LoadReport
		var committed, byTable, added string
		var us int64
		if err := rows.Scan(&r.ID, &committed, &us, &r.Records, &r.Rejected, &byTable, &added); err != nil {
			return nil, err
		}
		r.CommittedAt, r.Duration = parseTime(committed), time.Duration(us)*time.Microsecond
		if err := json.Unmarshal([]byte(byTable), &r.RowsByTable); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(added), &r.ColumnsAdded); err != nil {
			return nil, err
		}
		list = append(list, r)
	}
	return list, rows.Err()
}

// ActivityOf returns the recent traffic of the user's integrations in ids (the ones a page
// shows), by integration id, in two queries whatever their number.
func (s *Store) ActivityOf(ctx context.Context, userID int64, ids []int64) (map[int64]*Activity, error) {
	now := s.now()
	first := now.Truncate(time.Hour).Add(-23 * time.Hour)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	since := first
	if midnight.Before(since) {
		since = midnight
	}
	out := map[int64]*Activity{}
	if len(ids) == 0 {
		return out, nil
	}
	get := func(id int64) *Activity {
		if out[id] == nil {
			out[id] = &Activity{}
		}
		return out[id]
	}
	list, err := idList(ids)
	if err != nil {
		return nil, err
	}
	// One result row per integration, its hours listed as "hour rows requests errors,...":
	// database/sql's per-row cost is most of the cost of reading a row per hour.
	hours := s.d.groupConcat(`h.hour || ' ' || h.rows || ' ' || h.requests || ' ' || h.errors || ' ' || h.refused || ' ' || h.revoked`)
	// CROSS JOIN keeps the page's list outermost: otherwise SQLite may walk all the user's
	// integrations and their hours or batches.
	hourly := `SELECT i.id, COALESCE((SELECT ` + hours + ` FROM hourly_activity h WHERE h.integration_id = i.id AND h.hour >= ?), '')
		FROM ` + s.d.idsFrom() + ` CROSS JOIN integrations i WHERE i.id = ` + s.d.idValue() + ` AND i.user_id = ?`
	args := []any{hourOf(since), list, userID}
	// The newest batch that loaded rows, per listed integration: one backwards index walk
	// each, stopping at its newest such batch, instead of grouping every batch of every
	// integration.
	last := `SELECT l.integration_id, l.committed_at, l.rows_by_table
		FROM ` + s.d.idsFrom() + ` CROSS JOIN integrations i CROSS JOIN load_reports l
		WHERE i.id = ` + s.d.idValue() + ` AND i.user_id = ? AND l.id = (SELECT r.id FROM load_reports r
			WHERE r.integration_id = i.id AND r.records > 0 ORDER BY r.id DESC LIMIT 1)`
	lastArgs := []any{list, userID}
	// Hours as the rows name them, so no row needs a time parsed.
	bars := map[string]int{} // hour -> its bar in HourlyRows
	for i := range len(Activity{}.HourlyRows) {
		bars[hourOf(first.Add(time.Duration(i)*time.Hour))] = i
	}
	today, window := hourOf(midnight), hourOf(errorWindowStart(now))
	rows, err := s.read.QueryContext(ctx, hourly, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var entries string
		if err := rows.Scan(&id, &entries); err != nil {
			return nil, err
		}
		a := get(id)
		for entry := range strings.SplitSeq(entries, ",") {
			f := strings.Fields(entry)
			if len(f) != 6 {
				continue
			}
			hour := f[0]
			n, _ := strconv.Atoi(f[1])
			requests, _ := strconv.Atoi(f[2])
			errs, _ := strconv.Atoi(f[3])
			refused, _ := strconv.Atoi(f[4])
			revoked, _ := strconv.Atoi(f[5])
			if i, ok := bars[hour]; ok {
				a.HourlyRows[i] += n
				a.RevokedLastDay += revoked
			}
			if hour >= today { // hours are "2006-01-02T15": their order is the text's
				a.RowsToday += n
			}
			if hour >= window {
				a.RequestsLastHour += requests
				a.ErrorsLastHour += errs
				a.RefusedLastHour += refused
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()

	rows, err = s.read.QueryContext(ctx, last, lastArgs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var committed, byTable string
		if err := rows.Scan(&id, &committed, &byTable); err != nil {
			return nil, err
		}
		a := get(id)
		a.LastRowsAt = parseTime(committed)
		var counts map[string]int
		json.Unmarshal([]byte(byTable), &counts)
		a.LastTable = lastTable(counts)
	}
	return out, rows.Err()
}

// errorWindowStart is the first hour counted as "the last hour": the current and the previous
// clock hour, so an error a minute before the hour turns does not vanish at once.
func errorWindowStart(now time.Time) time.Time { return now.Truncate(time.Hour).Add(-time.Hour) }

// lastTable names the table a batch loaded: data when it got rows, else the first subtable
// (by name) that did.
func lastTable(counts map[string]int) string {
	if counts["data"] > 0 {
		return "data"
	}
	best := ""
	for name, n := range counts {
		if n > 0 && (best == "" || name < best) {
			best = name
		}
	}
	return best
}

// ActiveIntegrations counts integrations that are not paused (for /metrics).
func (s *Store) ActiveIntegrations(ctx context.Context) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM integrations WHERE paused_at IS NULL").Scan(&n)
	return n, err
}

// owns returns ErrNotFound unless the integration exists and is the user's.
func (s *Store) owns(ctx context.Context, userID, integrationID int64) error {
	var one int
	err := s.read.QueryRowContext(ctx, "SELECT 1 FROM integrations WHERE id = ? AND user_id = ?", integrationID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func pageSize(limit int) int {
	if limit <= 0 || limit > MaxPageSize {
		return MaxPageSize
	}
	return limit
}

// Retention is how long Extraction Logs and Loading Reports are kept.
func (s *Store) Retention() Retention { return *s.act.retention.Load() }
