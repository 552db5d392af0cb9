package cache_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/internal/engine/cache"
)

func TestTable(t *testing.T) {
	tb := cache.New[string, int]("t", 3)
	if _, ok := tb.Get("a"); ok {
		t.Fatal("an empty table hit")
	}
	tb.Put("a", 1)
	tb.Put("b", 2)
	if v, ok := tb.Get("a"); !ok || v != 1 {
		t.Fatalf("Get(a) = %d, %v", v, ok)
	}
	tb.Put("a", 10) // replacing an entry never empties the table
	tb.Put("c", 3)
	if st := tb.Stats(); st.Len != 3 || st.Clears != 0 {
		t.Fatalf("full table: %+v", st)
	}
	tb.Put("d", 4) // a fourth key empties it first
	if _, ok := tb.Get("a"); ok {
		t.Fatal("a full table must be emptied before a new key")
	}
	if v, ok := tb.Get("d"); !ok || v != 4 {
		t.Fatalf("Get(d) = %d, %v", v, ok)
	}
	want := cache.Stats{Name: "t", Len: 1, Max: 3, Hits: 2, Misses: 2, Clears: 1}
	if st := tb.Stats(); st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

func TestIntern(t *testing.T) {
	tb := cache.New[string, *int]("t", 2)
	one, other := new(int), new(int)
	if got := tb.Intern("k", one); got != one {
		t.Fatal("the first value must be kept")
	}
	if got := tb.Intern("k", other); got != one {
		t.Fatal("an equal key must give the value already held")
	}
	if st := tb.Stats(); st.Hits != 1 || st.Misses != 1 || st.Len != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDisabled(t *testing.T) {
	for _, max := range []int{0, -1} {
		tb := cache.New[string, int]("off", max)
		tb.Put("a", 1)
		if _, ok := tb.Get("a"); ok || tb.Enabled() {
			t.Fatalf("max %d: a disabled table kept a value", max)
		}
		if got := tb.Intern("a", 2); got != 2 {
			t.Fatalf("max %d: Intern gave %d, want its argument", max, got)
		}
		if st := tb.Stats(); st != (cache.Stats{Name: "off", Max: max}) {
			t.Fatalf("max %d: stats %+v", max, st)
		}
	}
}

// Concurrent callers never see a value under another key, and the bound
// holds throughout (run with -race).
func TestConcurrent(t *testing.T) {
	tb := cache.New[int, string]("t", 16)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := (g*7 + i) % 40
				if v, ok := tb.Get(k); ok && v != fmt.Sprint(k) {
					t.Errorf("key %d holds %q", k, v)
					return
				}
				if got := tb.Intern(k, fmt.Sprint(k)); got != fmt.Sprint(k) {
					t.Errorf("Intern(%d) = %q", k, got)
					return
				}
				if st := tb.Stats(); st.Len > 16 {
					t.Errorf("table holds %d entries, bound 16", st.Len)
					return
				}
			}
		}()
	}
	wg.Wait()
	if st := tb.Stats(); st.Hits+st.Misses != 8*2*2000 {
		t.Fatalf("every Get and Intern must be counted: %+v", st)
	}
}
