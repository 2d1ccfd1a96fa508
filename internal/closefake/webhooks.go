package closefake

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Webhook subscriptions, as Close keeps them: POST /webhook/ {url, events:
// [{object_type, action}], verify_ssl} makes one and returns its
// signature_key, the only time it is shown; DELETE /webhook/{id}/ removes
// it; GET /webhook/ lists them with the generated ones. Every event the
// fake logs whose object type and action a subscription names is POSTed
// to its URL as {"subscription_id", "event"}, signed: close-sig-timestamp
// (unix seconds) and close-sig-hash, the hex HMAC-SHA256 of the timestamp
// followed by the body, keyed by the hex-decoded signature key. Deliveries
// go one at a time in the background, never retried (Close retries; a
// lost delivery must cost closesync nothing but latency).
type hookState struct {
	keys map[string]string // subscription id -> signature key (hex)
	subs map[string]object // subscription id -> its object
	// sent and failed count deliveries (Deliveries).
	mu           sync.Mutex
	sent, failed int
}

// Deliveries reports how many webhook deliveries the fake made and how
// many of them were not answered 2xx.
func (s *Server) Deliveries() (sent, failed int) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return s.hooks.sent, s.hooks.failed
}

// Subscriptions lists the URLs of the webhook subscriptions made through
// the API, by id.
func (s *Server) Subscriptions() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for id, o := range s.hooks.subs {
		out[id] = o["url"].(string)
	}
	return out
}

func (s *Server) serveWebhookCreate(w http.ResponseWriter, r *request) {
	var body struct {
		URL    string `json:"url"`
		Events []struct {
			ObjectType string `json:"object_type"`
			Action     string `json:"action"`
		} `json:"events"`
		VerifySSL *bool `json:"verify_ssl"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "invalid JSON body"))
		return
	}
	if u, err := url.Parse(body.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		writeErr(w, fieldError("url", "Enter a valid URL."))
		return
	}
	if len(body.Events) == 0 {
		writeErr(w, fieldError("events", "This field is required."))
		return
	}
	events := make([]any, 0, len(body.Events))
	for _, e := range body.Events {
		if e.ObjectType == "" {
			writeErr(w, fieldError("events", "object_type is required."))
			return
		}
		events = append(events, object{"object_type": e.ObjectType, "action": e.Action})
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s.mu.Lock()
	now := fmtTime(s.now())
	o := object{"id": s.newID("whsub"), "url": body.URL, "events": events, "status": "active",
		"verify_ssl": body.VerifySSL == nil || *body.VerifySSL, "organization_id": s.orgID, "date_created": now, "date_updated": now}
	s.put("webhook", o)
	if s.hooks.keys == nil {
		s.hooks.keys, s.hooks.subs = map[string]string{}, map[string]object{}
	}
	s.hooks.keys[o["id"].(string)] = hex.EncodeToString(key)
	s.hooks.subs[o["id"].(string)] = o
	out := object{"signature_key": hex.EncodeToString(key)}
	for k, v := range o {
		out[k] = v
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) serveWebhookDelete(w http.ResponseWriter, _ *request, id string) {
	s.mu.Lock()
	_, ok := s.col("webhook").objs[id]
	if ok {
		s.remove("webhook", id)
		delete(s.hooks.keys, id)
		delete(s.hooks.subs, id)
	}
	s.mu.Unlock()
	if !ok {
		writeErr(w, errorf(http.StatusNotFound, msgNotFound))
		return
	}
	writeJSON(w, http.StatusOK, object{})
}

// deliverEvent sends e to the subscriptions that ask for it. The caller
// holds s.mu.
func (s *Server) deliverEvent(e *event) {
	if len(s.hooks.subs) == 0 {
		return
	}
	rendered := s.renderEvent(e)
	for id, sub := range s.hooks.subs {
		if !wants(sub, e.objectType, e.action) {
			continue
		}
		body, err := json.Marshal(map[string]any{"subscription_id": id, "event": rendered})
		if err != nil {
			continue
		}
		go s.post(sub["url"].(string), s.hooks.keys[id], body)
	}
}

func wants(sub object, objectType, action string) bool {
	events, _ := sub["events"].([]any)
	for _, ev := range events {
		e, _ := ev.(object)
		if e["object_type"] == objectType && (e["action"] == "" || e["action"] == action) {
			return true
		}
	}
	return false
}

func (s *Server) post(target, key string, body []byte) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	k, _ := hex.DecodeString(key)
	m := hmac.New(sha256.New, k)
	m.Write([]byte(ts))
	m.Write(body)
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	ok := false
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("close-sig-timestamp", ts)
		req.Header.Set("close-sig-hash", hex.EncodeToString(m.Sum(nil)))
		c := http.Client{Timeout: 10 * time.Second}
		if resp, err := c.Do(req); err == nil {
			ok = resp.StatusCode/100 == 2
			_ = resp.Body.Close()
		}
	}
	s.hooks.mu.Lock()
	s.hooks.sent++
	if !ok {
		s.hooks.failed++
	}
	s.hooks.mu.Unlock()
}
