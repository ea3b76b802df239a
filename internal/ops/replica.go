package ops

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/corkboard/corkboard/internal/store"
)

var (
	descReplicaUp        = prometheus.NewDesc("corkboard_db_replica_up", "1 while reads go to the read replica, 0 while they skip it after a failure.", nil, nil)
	descReplicaReads     = prometheus.NewDesc("corkboard_db_replica_reads_total", "Reads (snapshots, event pages, catch-up) the read replica answered.", nil, nil)
	descReplicaBehind    = prometheus.NewDesc("corkboard_db_replica_behind_total", "Reads the read replica had not replayed far enough for (min_seq, since past its head, a new board), answered by the primary.", nil, nil)
	descReplicaFallbacks = prometheus.NewDesc("corkboard_db_replica_fallbacks_total", "Reads that went to the primary because the read replica failed or was down.", nil, nil)
)

// WatchReplica exports the counters of the store's read replica (only when
// one is configured: call it after store.OpenReplica).
func (m *Metrics) WatchReplica(stats func() store.ReplicaStats) {
	m.reg.MustRegister(replicaCollector(stats))
}

type replicaCollector func() store.ReplicaStats

func (c replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReplicaUp, descReplicaReads, descReplicaBehind, descReplicaFallbacks} {
		ch <- d
	}
}

func (c replicaCollector) Collect(ch chan<- prometheus.Metric) {
	st := c()
	up := 0.0
	if st.Up {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(descReplicaUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(descReplicaReads, prometheus.CounterValue, float64(st.Reads))
	ch <- prometheus.MustNewConstMetric(descReplicaBehind, prometheus.CounterValue, float64(st.Behind))
	ch <- prometheus.MustNewConstMetric(descReplicaFallbacks, prometheus.CounterValue, float64(st.Fallbacks))
}
