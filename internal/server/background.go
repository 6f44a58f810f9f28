package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Work done after the answer, off the request path: what a request must not
// wait for because its cost would tell a real account from an unknown login
// (a failed sign-in's database writes, a reset link's token and mail), and
// mail, which may take seconds. A handler asks for it with reqState.later;
// outer queues it once the answer is written, so that it does not compete
// with the answer for the CPU either. A bounded queue feeds a few workers;
// when the queue is full, the request waits for room after its answer.
// Close stops taking work, runs what is queued and waits for it.
const (
	queueLength  = 1024
	queueWorkers = 4
	jobTimeout   = 30 * time.Second // one job: a mail relay that hangs does not hold a worker for ever
	drainTimeout = 20 * time.Second // Close: after this, the jobs still queued are cancelled
)

// errShuttingDown refuses work queued after Close.
var errShuttingDown = errors.New("the server is shutting down")

type job struct {
	what string // for the log: "record a failed sign-in"
	run  func(ctx context.Context) error
}

type queue struct {
	jobs    chan job
	log     *slog.Logger
	ctx     context.Context // the jobs' context, cancelled when draining takes too long
	cancel  context.CancelFunc
	drain   time.Duration
	workers sync.WaitGroup

	sendMu sync.RWMutex // held to send; Close takes it to close jobs
	closed bool

	mu      sync.Mutex
	pending int        // queued or running
	idle    *sync.Cond // broadcast when pending drops to 0
}

func newQueue(log *slog.Logger) *queue {
	q := &queue{jobs: make(chan job, queueLength), log: log, drain: drainTimeout}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	q.idle = sync.NewCond(&q.mu)
	q.workers.Add(queueWorkers)
	for range queueWorkers {
		go q.work()
	}
	return q
}

// later asks for run to be done after the answer (see outer).
func (st *reqState) later(what string, run func(ctx context.Context) error) {
	st.after = append(st.after, job{what: what, run: run})
}

// add queues j, waiting for room: the workers make room, each job within
// jobTimeout.
func (q *queue) add(j job) error {
	q.sendMu.RLock()
	defer q.sendMu.RUnlock()
	if q.closed {
		return errShuttingDown
	}
	q.mu.Lock()
	q.pending++
	q.mu.Unlock()
	q.jobs <- j
	return nil
}

func (q *queue) work() {
	defer q.workers.Done()
	for j := range q.jobs {
		ctx, cancel := context.WithTimeout(q.ctx, jobTimeout)
		if err := j.run(ctx); err != nil {
			// Jobs' errors say what failed, never a code, link or password.
			q.log.Error("background: "+j.what, "err", err)
		}
		cancel()
		q.done()
	}
}

func (q *queue) done() {
	q.mu.Lock()
	q.pending--
	if q.pending == 0 {
		q.idle.Broadcast()
	}
	q.mu.Unlock()
}

// wait returns once nothing is queued or running.
func (q *queue) wait() {
	q.mu.Lock()
	for q.pending > 0 {
		q.idle.Wait()
	}
	q.mu.Unlock()
}

// close refuses new work, runs what is queued and waits for it; jobs still
// running after the drain timeout see their context cancelled.
func (q *queue) close() {
	q.sendMu.Lock()
	if q.closed {
		q.sendMu.Unlock()
		q.workers.Wait()
		return
	}
	q.closed = true
	close(q.jobs)
	q.sendMu.Unlock()
	finished := make(chan struct{})
	go func() { q.workers.Wait(); close(finished) }()
	t := time.NewTimer(q.drain)
	defer t.Stop()
	select {
	case <-finished:
	case <-t.C:
		q.log.Warn("background: work still queued at shutdown is cancelled", "after", q.drain)
		q.cancel()
		<-finished
	}
	q.cancel()
}
