package closefake

import (
	"testing"
)

func BenchmarkZZBuild(b *testing.B) {
	for i := 0; i < b.N; i++ {
		New(Options{Seed: 1, Scale: 20000})
	}
}
