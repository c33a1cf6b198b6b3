package storecopy

import (
	"errors"
	"testing"
)

// TestEachPage walks 2.5 pages of items by cursor, and stops at the first
// failing put with the count so far.
func TestEachPage(t *testing.T) {
	items := make([]int, 2*page+page/2)
	for i := range items {
		items[i] = i
	}
	list := func(after int) ([]int, error) { // items greater than after
		from := after + 1
		return items[from:min(from+page, len(items))], nil
	}
	next := func(_ int, last int) int { return last }
	var got []int
	n, err := eachPage(-1, list, next, func(i int) error { got = append(got, i); return nil })
	if err != nil || n != len(items) || len(got) != len(items) || got[len(got)-1] != len(items)-1 {
		t.Fatalf("eachPage = %d, %v; put %d items", n, err, len(got))
	}
	boom := errors.New("boom")
	n, err = eachPage(-1, list, next, func(i int) error {
		if i == page+3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != page+3 {
		t.Errorf("failing put: %d, %v; want %d, boom", n, err, page+3)
	}
}
