package sqlutil

import (
	"context"
	"errors"
	"testing"
)

// fakeTx records how a transaction ended.
type fakeTx struct{ committed, rolledBack int }

func (t *fakeTx) Commit() error   { t.committed++; return nil }
func (t *fakeTx) Rollback() error { t.rolledBack++; return nil }

type ctxKey struct{}

func TestInTx(t *testing.T) {
	tx := &fakeTx{}
	begin := func(ctx context.Context) (context.Context, *fakeTx, error) {
		return context.WithValue(ctx, ctxKey{}, "bound"), tx, nil
	}
	err := InTx(context.Background(), begin, func(ctx context.Context, got *fakeTx) error {
		if ctx.Value(ctxKey{}) != "bound" {
			t.Error("fn did not get the context begin returned")
		}
		return nil
	})
	if err != nil || tx.committed != 1 {
		t.Fatalf("a flow that succeeds: %v, committed %d times", err, tx.committed)
	}

	tx = &fakeTx{}
	failed := errors.New("precondition failed")
	if err := InTx(context.Background(), begin, func(context.Context, *fakeTx) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("a flow that fails: %v, want its own error", err)
	}
	if tx.committed != 0 || tx.rolledBack != 1 {
		t.Fatalf("a flow that fails: committed %d, rolled back %d times", tx.committed, tx.rolledBack)
	}

	tx = &fakeTx{}
	func() {
		defer func() { _ = recover() }()
		_ = InTx(context.Background(), begin, func(context.Context, *fakeTx) error { panic("bug") })
	}()
	if tx.committed != 0 || tx.rolledBack != 1 {
		t.Fatalf("a flow that panics: committed %d, rolled back %d times", tx.committed, tx.rolledBack)
	}

	refused := errors.New("database unavailable")
	err = InTx(context.Background(), func(ctx context.Context) (context.Context, *fakeTx, error) { return ctx, nil, refused },
		func(context.Context, *fakeTx) error { t.Fatal("fn ran without a transaction"); return nil })
	if !errors.Is(err, refused) {
		t.Fatalf("a transaction that does not begin: %v", err)
	}
}

func TestPurge(t *testing.T) {
	left := 2*PurgeBatch + 7
	var calls int
	n, err := Purge(context.Background(), func(_ context.Context, limit int) (int64, error) {
		calls++
		k := min(left, limit)
		left -= k
		return int64(k), nil
	})
	if err != nil || n != 2*PurgeBatch+7 || calls != 3 {
		t.Fatalf("Purge: %d rows in %d batches, %v; want %d in 3", n, calls, err, 2*PurgeBatch+7)
	}

	failed := errors.New("timeout")
	calls = 0
	n, err = Purge(context.Background(), func(context.Context, int) (int64, error) {
		if calls++; calls == 2 {
			return 0, failed
		}
		return PurgeBatch, nil
	})
	if !errors.Is(err, failed) || n != PurgeBatch {
		t.Fatalf("a batch that fails: %d rows, %v; want the batch before it and the error", n, err)
	}
}
