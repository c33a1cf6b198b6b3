package storecopy_test

import (
	"os"
	"testing"

	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, "internal/store/storecopy")) }
