import { lazy, Suspense } from "react";
import { BrowserRouter, Link, NavLink, Route, Routes } from "react-router-dom";
import { CallPage } from "@/features/call/components/CallPage";
import { CompanionsPage } from "@/features/companions/components/CompanionsPage";
import { HistoryPage } from "@/features/history/components/HistoryPage";
import { TranscriptPage } from "@/features/history/components/TranscriptPage";
import { ProfilePage } from "@/features/me/components/ProfilePage";
import { IdentityProvider } from "@/shared/hooks/useIdentity";

// The chart library is the largest dependency: loaded with the progress page only.
const ProgressPage = lazy(() =>
  import("@/features/me/components/ProgressPage").then((m) => ({ default: m.ProgressPage })),
);

export function App() {
  return (
    <BrowserRouter>
      <a href="#content" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          Holo Tutor Hub
        </Link>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Tutors
          </NavLink>
          <NavLink to="/history">History</NavLink>
          <NavLink to="/progress">Progress</NavLink>
          <NavLink to="/profile">Profile</NavLink>
        </nav>
      </header>
      <div id="content">
        <IdentityProvider>
          <Routes>
            <Route path="/" element={<CompanionsPage />} />
            <Route path="/rooms/:roomId" element={<CallPage />} />
            <Route path="/history" element={<HistoryPage />} />
            <Route path="/history/:sessionId" element={<TranscriptPage />} />
            <Route
              path="/progress"
              element={
                <Suspense fallback={<p className="loading">Loading…</p>}>
                  <ProgressPage />
                </Suspense>
              }
            />
            <Route path="/profile" element={<ProfilePage />} />
            <Route
              path="*"
              element={
                <main className="page narrow">
                  <h1>Page not found</h1>
                  <Link to="/">Choose a tutor</Link>
                </main>
              }
            />
          </Routes>
        </IdentityProvider>
      </div>
    </BrowserRouter>
  );
}
