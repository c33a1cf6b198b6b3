package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
)

func testInitSetting(t *testing.T, s store.Store) {
	got, err := s.InitSetting(ctx(t), "k", []byte("first"))
	if err != nil || string(got) != "first" {
		t.Fatalf("InitSetting first = %q, %v", got, err)
	}
	got, err = s.InitSetting(ctx(t), "k", []byte("second"))
	if err != nil || string(got) != "first" {
		t.Fatalf("InitSetting second = %q, %v; want the first value kept", got, err)
	}
}

func testInitSettingConcurrent(t *testing.T, s store.Store) {
	const n = 8
	results := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := s.InitSetting(context.Background(), "race", []byte(fmt.Sprint(i)))
			if err != nil {
				t.Errorf("InitSetting: %v", err)
			}
			results[i] = v
		})
	}
	wg.Wait()
	for i := range results {
		if !bytes.Equal(results[i], results[0]) {
			t.Fatalf("concurrent InitSetting disagreed: %q vs %q", results[i], results[0])
		}
	}
}
