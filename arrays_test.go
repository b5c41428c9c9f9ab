package main

import (
	"bytes"
	"database/sql"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkArrayBodies compares the real endpoint loading JSON arrays of 1,000 Vero-like
// records with SQLite alone inserting the same rows. After each round of the endpoint, the rows
// hookhouse stored in it are read back and inserted, in the same order, into a file of the same
// columns and indexes that holds the same rows hookhouse's did before the round (the indexes
// grow alike: the bodies repeat, so later rounds update keys all over the key index), with a
// plain prepared INSERT per row, in transactions of as many rows as hookhouse's commits carried
// in that round (group commit may join two requests), WAL and synchronous=FULL as hookhouse's
// files. It reports both rates in rows/s, their ratio (the median of the rounds' ratios) and
// hookhouse's rows per commit.
//
// (Not named Ingest: -bench Ingest would run it at BenchmarkIngest's -benchtime.)
//
//	go test -run '^$' -bench ArrayBodies -benchtime 30x -count 5 .
func BenchmarkArrayBodies(b *testing.B) {
	const perArray, rounds, senders, metricsToken = 1000, 5, 2, "bench-metrics-token"
	dataDir := filepath.Join(b.TempDir(), "data")
	s := startServer(b, dataDir, append(adminEnv, "HOOKHOUSE_RATE_LIMIT=0", "HOOKHOUSE_METRICS_TOKEN="+metricsToken)...)
	hook := addIntegration(b, s, "vero", "arrays", "id")
	events := &veroEvents{rng: rand.New(rand.NewPCG(7, 7))}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		if i >= 50 { // (bounded memory: the same bodies again)
			bodies[i] = bodies[i%50]
			continue
		}
		body := []byte{'['}
		for j := range perArray {
			if j > 0 {
				body = append(body, ',')
			}
			body = events.append(body)
		}
		bodies[i] = append(body, ']')
	}
	post(b, hook, bodies[:1], 1) // creates the table
	plain := newPlainCopy(b, filepath.Join(dataDir, "warehouse", "arrays.db"), filepath.Join(b.TempDir(), "plain.db"))
	plain.insert(b, perArray) // the same first rows, untimed

	commits := func() (records, transactions float64) {
		return serverMetric(b, s.URL, metricsToken, "hookhouse_batch_records_sum"), serverMetric(b, s.URL, metricsToken, "hookhouse_batch_records_count")
	}
	var hookRates, plainRates, ratios, perCommit []float64
	b.ResetTimer()
	for range rounds {
		records0, transactions0 := commits()
		t0 := time.Now()
		post(b, hook, bodies, senders)
		hookRates = append(hookRates, float64(b.N*perArray)/time.Since(t0).Seconds())
		records, transactions := commits()
		batch := (records - records0) / (transactions - transactions0)
		perCommit = append(perCommit, batch)
		plainRates = append(plainRates, plain.insert(b, int(batch+0.5)))
		ratios = append(ratios, hookRates[len(hookRates)-1]/plainRates[len(plainRates)-1])
	}
	b.StopTimer()
	b.ReportMetric(median(hookRates), "rows/s")
	b.ReportMetric(median(plainRates), "sqlite-rows/s")
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(median(perCommit), "rows/commit")
}

func post(b *testing.B, hook string, bodies [][]byte, senders int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	next := make(chan []byte)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for body := range next {
				resp, err := client.Post(hook, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	for _, body := range bodies {
		next <- body
	}
	close(next)
	wg.Wait()
}

// plainCopy inserts the rows of hookhouse's data table into another file with the same
// columns and indexes, by a plain prepared INSERT per row.
type plainCopy struct {
	src, dst  *sql.DB
	insertSQL string
	copied    int64 // the rowid of the last row copied (hookhouse never deletes)
}

func newPlainCopy(b *testing.B, from, to string) *plainCopy {
	src, err := sql.Open("sqlite", "file:"+from+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { src.Close() })
	dst, err := sql.Open("sqlite", "file:"+to+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dst.Close() })
	dst.SetMaxOpenConns(1)
	q, err := src.Query(`SELECT sql FROM sqlite_master WHERE tbl_name = 'data' AND type IN ('table', 'index') AND sql IS NOT NULL ORDER BY type DESC`)
	if err != nil {
		b.Fatal(err)
	}
	for q.Next() {
		var s string
		q.Scan(&s)
		if _, err := dst.Exec(s); err != nil {
			b.Fatal(err)
		}
	}
	q.Close()
	var cols int
	if err := src.QueryRow(`SELECT count(*) FROM pragma_table_info('data')`).Scan(&cols); err != nil {
		b.Fatal(err)
	}
	return &plainCopy{src: src, dst: dst, insertSQL: `INSERT INTO data VALUES (` + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + `)`}
}

// insert copies the rows hookhouse added since the last call, batch rows per transaction, and
// returns the rate in rows per second.
func (p *plainCopy) insert(b *testing.B, batch int) float64 {
	r, err := p.src.Query(`SELECT rowid, * FROM data WHERE rowid > ? ORDER BY rowid`, p.copied)
	if err != nil {
		b.Fatal(err)
	}
	cols, _ := r.Columns()
	var values [][]any
	for r.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		p.copied = vals[0].(int64)
		values = append(values, vals[1:])
	}
	r.Close()
	t0 := time.Now()
	for done := 0; done < len(values); done += batch {
		tx, err := p.dst.Begin()
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.Prepare(p.insertSQL)
		if err != nil {
			b.Fatal(err)
		}
		for _, vals := range values[done:min(done+batch, len(values))] {
			if _, err := stmt.Exec(vals...); err != nil {
				b.Fatal(err)
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return float64(len(values)) / time.Since(t0).Seconds()
}
