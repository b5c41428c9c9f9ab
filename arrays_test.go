package main

import (
	"bytes"
	"database/sql"
	"fmt"
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
// records with SQLite alone inserting the same rows: the rows hookhouse stored are read back
// and inserted into a table of the same columns and indexes, with a plain prepared INSERT per
// row and a transaction per 1,000 rows (the endpoint's commits, one request each), WAL and
// synchronous=FULL as hookhouse's files. Rounds alternate; it reports both rates in rows/s
// and their ratio.
//
// (Not named Ingest: -bench Ingest would run it at BenchmarkIngest's -benchtime.)
//
//	go test -run '^$' -bench ArrayBodies -benchtime 100x -count 3 .
func BenchmarkArrayBodies(b *testing.B) {
	const perArray, rounds, senders = 1000, 3, 2
	dataDir := filepath.Join(b.TempDir(), "data")
	s := startServer(b, dataDir, append(adminEnv, "HOOKHOUSE_RATE_LIMIT=0")...)
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

	plainDir := b.TempDir()
	var hookRates, plainRates []float64
	b.ResetTimer()
	for round := range rounds {
		t0 := time.Now()
		post(b, hook, bodies, senders)
		hookRates = append(hookRates, float64(b.N*perArray)/time.Since(t0).Seconds())
		plainRates = append(plainRates, plainInsert(b, filepath.Join(dataDir, "warehouse", "arrays.db"),
			filepath.Join(plainDir, fmt.Sprintf("plain%d.db", round)), b.N*perArray, perArray))
	}
	b.StopTimer()
	b.ReportMetric(median(hookRates), "rows/s")
	b.ReportMetric(median(plainRates), "sqlite-rows/s")
	b.ReportMetric(median(hookRates)/median(plainRates), "ratio")
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

// plainInsert copies the newest rows of the data table of file from into a new file to, with
// the same columns and indexes, by a prepared INSERT per row, batch rows per transaction, and
// returns the rate in rows per second.
func plainInsert(b *testing.B, from, to string, rows, batch int) float64 {
	src, err := sql.Open("sqlite", "file:"+from+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var ddl []string
	q, err := src.Query(`SELECT sql FROM sqlite_master WHERE tbl_name = 'data' AND type IN ('table', 'index') AND sql IS NOT NULL ORDER BY type DESC`)
	if err != nil {
		b.Fatal(err)
	}
	for q.Next() {
		var s string
		q.Scan(&s)
		ddl = append(ddl, s)
	}
	q.Close()
	r, err := src.Query(`SELECT * FROM data ORDER BY rowid DESC LIMIT ?`, rows)
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
		values = append(values, vals)
	}
	r.Close()

	dst, err := sql.Open("sqlite", "file:"+to+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	dst.SetMaxOpenConns(1)
	for _, s := range ddl {
		if _, err := dst.Exec(s); err != nil {
			b.Fatal(err)
		}
	}
	insert := `INSERT INTO data VALUES (` + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + `)`
	t0 := time.Now()
	for done := 0; done < len(values); done += batch {
		tx, err := dst.Begin()
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.Prepare(insert)
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
