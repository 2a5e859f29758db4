package apiserver

import (
	"net/http"
)

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	obj, err := h.store.Get(r.Context(), ri.Namespace, ri.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, h, http.StatusOK, obj)
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	opts, err := listOptions(r, h)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := h.store.List(r.Context(), ri.Namespace, opts.ListOptions)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, h, http.StatusOK, list)
}
