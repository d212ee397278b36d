# One image for the three Node processes of the stack (api, worker,
# payments-stub); docker-compose.yml picks the process with `command`.
# Untested on the machine where it was written (no Docker engine there).
FROM node:20-bookworm-slim

WORKDIR /app
RUN chown node:node /app
USER node

# Dependencies first, so a source change does not reinstall them.
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY --chown=node:node . .

# After `npm ci` on purpose: set before it, npm would skip devDependencies.
ENV NODE_ENV=production

# api (PORT), payments-stub (STUB_PORT); the worker listens on nothing.
EXPOSE 3000 9000

CMD ["npm", "run", "start:api"]
