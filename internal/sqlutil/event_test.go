package sqlutil

import (
	"testing"

	"widgetapi"
)

func TestEventRow(t *testing.T) {
	c, err := EventRow(&widgetapi.Event{Action: widgetapi.ActionWidgetDeleted})
	if err != nil || c.Detail != "{}" || c.ActorEmail.Valid || c.ActorID.Valid || c.Target.Valid {
		t.Fatalf("an event with nothing optional: %+v, %v", c, err)
	}
	c, err = EventRow(&widgetapi.Event{Action: widgetapi.ActionWidgetUpdated, Target: "w",
		Actor:  &widgetapi.EventActor{Email: "a@example.com", PublicID: "p"},
		Detail: map[string]any{"info_url": "https://example.com"}})
	if err != nil || c.Detail != `{"info_url":"https://example.com"}` || c.ActorEmail.String != "a@example.com" ||
		c.ActorID.String != "p" || c.Target.String != "w" || !c.Target.Valid {
		t.Fatalf("a full event: %+v, %v", c, err)
	}
	// A detail that cannot be kept fails the change it belongs to.
	if _, err := EventRow(&widgetapi.Event{Action: widgetapi.ActionWidgetUpdated, Detail: map[string]any{"x": make(chan int)}}); err == nil {
		t.Fatal("a detail that is not JSON was accepted")
	}
}
