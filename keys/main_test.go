package keys_test

import (
	"os"
	"testing"

	"widgetapi/internal/testdb"
)

// TestMain says, after the tests, whether any skipped PostgreSQL.
func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }
