package store

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// targetsChannel is notified (postgres/0008) when a change that can refuse a webhook URL
// commits, on any node.
const targetsChannel = "hookhouse_targets"

// deletedChannel is notified (postgres/0013) with an integration's id when it is deleted, on
// any node. The id is not believed: any database user may NOTIFY.
const deletedChannel = "hookhouse_deleted"

// arrivalsChannel is notified (announceArrivals) when a node records webhook activity, so
// every node's open dashboard pages hear of it.
const arrivalsChannel = "hookhouse_arrivals"

// listenerPing is how often an idle listening connection is checked, so a connection that
// died silently is replaced (and the cache is off meanwhile) within about this long.
const listenerPing = 10 * time.Second

// listener keeps one PostgreSQL connection that LISTENs on targetsChannel and clears the
// cache of webhook targets on every notification. The cache serves only while the listener
// is connected: a change made while it was not could be missed, so on every (re)connect the
// cache starts empty, and while it is down every lookup reads the database.
type listener struct {
	cfg     *pgx.ConnConfig
	targets *targetCache
	arrived func(payload string) // wakes this node's pages watching the integrations another node announced
	deleted func()               // tells this node that integrations may have been deleted, on any node
	log     *slog.Logger
	cancel  context.CancelFunc
	done    chan struct{}
}

func newListener(cfg *pgx.ConnConfig, targets *targetCache, arrived func(string), deleted func(), log *slog.Logger) *listener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{cfg: cfg, targets: targets, arrived: arrived, deleted: deleted, log: log, cancel: cancel, done: make(chan struct{})}
	targets.setLive(false)
	go l.run(ctx)
	return l
}

func (l *listener) run(ctx context.Context) {
	defer close(l.done)
	wait := 50 * time.Millisecond
	for {
		connected, err := l.listen(ctx)
		l.targets.setLive(false)
		if ctx.Err() != nil {
			return
		}
		if connected {
			wait = 50 * time.Millisecond
			l.log.Warn("lost the connection that hears of other nodes' webhook URL changes; reconnecting (URLs are checked in the database meanwhile)", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// listen connects, listens and clears the cache on each notification until the connection
// fails or ctx ends. connected says it got as far as listening.
func (l *listener) listen(ctx context.Context) (connected bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, l.cfg.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+targetsChannel+"; LISTEN "+arrivalsChannel+"; LISTEN "+deletedChannel); err != nil {
		return false, err
	}
	l.targets.setLive(true) // empty: anything might have changed before LISTEN
	l.deleted()             // as may have been deleted, while no connection listened
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenerPing)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil && n.Channel == arrivalsChannel:
			l.arrived(n.Payload)
		case err == nil && n.Channel == deletedChannel:
			// The cache first: a webhook checked again after the delete must not find the URL
			// in it (see handlers' observeWebhook), though hookhouse_targets comes next.
			l.targets.forget()
			l.deleted()
		case err == nil:
			l.targets.forget()
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pingCtx, cancel := context.WithTimeout(ctx, listenerPing)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}

// OnIntegrationsDeleted has f called when integrations may have been deleted by another node
// of the cluster: at each delete's notification (or anyone's NOTIFY on its channel), and each
// time the listener connects again, as it may have missed some meanwhile. f finds out which
// (IntegrationIDs). PostgreSQL only: on SQLite the one process that deletes knows.
func (s *Store) OnIntegrationsDeleted(f func()) { s.onDeleted.Store(&f) }

// heardDeleted calls the OnIntegrationsDeleted function.
func (s *Store) heardDeleted() {
	if f := s.onDeleted.Load(); f != nil {
		(*f)()
	}
}

// IntegrationIDs is the ids of every integration there is, of every workspace.
func (s *Store) IntegrationIDs(ctx context.Context) (map[int64]bool, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT id FROM integrations")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

func (l *listener) close() {
	l.cancel()
	<-l.done
}
