import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router-dom';
import { ApiError, session } from './api.ts';
import { App } from './App.tsx';
import { AuthProvider } from './auth.tsx';
import './i18n.ts';
import './global.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A refused or missing resource will not change by asking again.
      retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

// Back from the identity provider: `?sso=signed-in` (the session is the cookie), or `?sso_error=CODE`
// (kept for the sign-in page, which reads it once). Either leaves the address bar clean.
const search = new URLSearchParams(window.location.search);
if (search.has('sso') || search.has('sso_error')) {
  if (search.get('sso') === 'signed-in') {
    sessionStorage.removeItem('ecron.token');
    session.setSso();
  }
  const error = search.get('sso_error');
  if (error) sessionStorage.setItem('ecron.ssoError', error);
  search.delete('sso');
  search.delete('sso_error');
  const rest = search.toString();
  window.history.replaceState(null, '', `${window.location.pathname}${rest ? `?${rest}` : ''}${window.location.hash}`);
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <AuthProvider>
          <App />
        </AuthProvider>
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
