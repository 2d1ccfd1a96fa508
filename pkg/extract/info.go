package extract

// Info is one catalog entry as `closesync reports --json` prints it.
type Info struct {
	Name           string   `json:"name"`
	Endpoint       string   `json:"endpoint,omitempty"`
	PrimaryKey     []string `json:"primary_key"`
	Method         string   `json:"replication_method"`
	ReplicationKey string   `json:"replication_key,omitempty"`
	Parent         string   `json:"parent,omitempty"`
	DefaultMode    string   `json:"default_mode"`
	// History says the report keeps every version of its rows by default
	// (<table>_versions).
	History     bool     `json:"history"`
	Children    []string `json:"children,omitempty"`
	Description string   `json:"description"`
}

// Infos describes every report of the catalog, in catalog order.
func Infos() []Info {
	var out []Info
	for _, r := range Catalog() {
		out = append(out, Info{
			Name: r.Name, Endpoint: r.Endpoint(), PrimaryKey: r.Table.Key, Method: string(r.Method),
			ReplicationKey: r.ReplicationKey(), Parent: r.Parent, DefaultMode: r.DefaultMode.String(), History: r.History, Children: r.Children(), Description: r.Doc,
		})
	}
	return out
}
