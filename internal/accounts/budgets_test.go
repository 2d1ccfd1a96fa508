package accounts

import (
	"testing"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
)

// TestRebuildKeepsBudgets: the clients a reload builds get the budgets of
// the clients they replace, through the process's one registry; accounts
// sharing a key share one budget within a build too.
func TestRebuildKeepsBudgets(t *testing.T) {
	cfg := &config.Config{Accounts: []config.Account{
		{Name: "main", APIKey: "api_budgetTestKeyOne", MaxConcurrency: 4},
		{Name: "alias", APIKey: "api_budgetTestKeyOne", MaxConcurrency: 4},
		{Name: "other", APIKey: "api_budgetTestKeyTwo", MaxConcurrency: 4},
	}}
	registry := closeapi.NewBudgets()
	first, err := New(cfg, registry, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := New(cfg, registry, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"main", "alias", "other"} {
		if first.Client(name).Budget() != second.Client(name).Budget() {
			t.Errorf("account %s: the rebuild made a new budget", name)
		}
	}
	if b := first.Client("main").Budget(); b != first.Client("alias").Budget() || b == first.Client("other").Budget() {
		t.Error("budgets not shared by key")
	}
}
