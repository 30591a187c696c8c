"""In the style of pytorch/examples reinforcement_learning/reinforce.py: a policy network,
Categorical sampling, saved log-probabilities, normalised discounted returns with
np.finfo(np.float32).eps.item(), torch.cat(policy_loss).sum(); a tiny corridor environment in
place of gym's CartPole (reach the right end in few steps)."""
import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

from _common import write_result


class Corridor:
    """State: one-hot position of 6 cells; actions: 0 left, 1 right; reward 1 at the end."""

    def reset(self, seed=None):
        self.pos = 0
        return self._obs(), {}

    def _obs(self):
        s = np.zeros(6)
        s[self.pos] = 1.0
        return s

    def step(self, action):
        self.pos = max(0, min(5, self.pos + (1 if action == 1 else -1)))
        done = self.pos == 5
        return self._obs(), (1.0 if done else -0.05), done, False, {}


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(6, 32)
        self.dropout = nn.Dropout(p=0.6)
        self.affine2 = nn.Linear(32, 2)
        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


def main():
    parser = argparse.ArgumentParser(description='PyTorch REINFORCE example')
    parser.add_argument('--gamma', type=float, default=0.99, metavar='G')
    parser.add_argument('--seed', type=int, default=543, metavar='N')
    parser.add_argument('--episodes', type=int, default=60)
    parser.add_argument('--out')
    args = parser.parse_args()
    env = Corridor()
    torch.manual_seed(args.seed)
    policy = Policy()
    optimizer = optim.Adam(policy.parameters(), lr=3e-2)
    eps = np.finfo(np.float32).eps.item()

    def select_action(state):
        state = torch.from_numpy(state).float().unsqueeze(0)
        probs = policy(state)
        m = Categorical(probs)
        action = m.sample()
        policy.saved_log_probs.append(m.log_prob(action))
        return action.item()

    def finish_episode():
        R = 0
        policy_loss = []
        returns = []
        for r in policy.rewards[::-1]:
            R = r + args.gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for log_prob, R in zip(policy.saved_log_probs, returns):
            policy_loss.append(-log_prob * R)
        optimizer.zero_grad()
        policy_loss = torch.cat(policy_loss).sum()
        policy_loss.backward()
        optimizer.step()
        del policy.rewards[:]
        del policy.saved_log_probs[:]

    running_reward, lengths = 0, []
    for i_episode in range(args.episodes):
        state, _ = env.reset(seed=args.seed)
        ep_reward = 0
        for t in range(1, 60):
            action = select_action(state)
            state, reward, done, _, _ = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if done:
                break
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        lengths.append(t)
        if len(policy.rewards) > 1:
            finish_episode()
        else:
            del policy.rewards[:]
            del policy.saved_log_probs[:]
        if i_episode % 20 == 0:
            print('Episode {}\tLast length: {:5d}\tAverage reward: {:.2f}'.format(
                  i_episode, t, running_reward))
    write_result({"lengths": lengths, "running_reward": running_reward})


if __name__ == '__main__':
    main()
