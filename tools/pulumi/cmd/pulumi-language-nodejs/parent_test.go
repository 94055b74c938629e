package main

import (
	"testing"
	"time"
)

func TestWatchParentCallsGoneOnlyOnceTheParentChanged(t *testing.T) {
	ppid := 100
	calls := 0
	done := make(chan struct{})
	go func() {
		watchParent(100, time.Millisecond, func() int {
			calls++
			if calls == 5 {
				ppid = 1 // re-parented to init: the CLI is gone
			}
			return ppid
		}, func() { close(done) })
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("gone was never called after the parent changed")
	}
	if calls != 5 {
		t.Fatalf("gone called after %d checks, want 5 (not before the parent changed)", calls)
	}
}
